package perf

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Uploader is who created a reviewed resource.
type Uploader struct {
	UploaderSub string `db:"uploader_sub"`
	UploaderIss string `db:"uploader_iss"`
}

// Benchmark is a container image whose results the service collects, with
// the JSON Schema its results must satisfy.
type Benchmark struct {
	ID             uuid.UUID       `db:"id"`
	UploadDatetime time.Time       `db:"upload_datetime"`
	DockerImage    string          `db:"docker_image"`
	DockerTag      string          `db:"docker_tag"`
	URL            string          `db:"url"`
	JSONSchema     json.RawMessage `db:"json_schema"`
	Description    *string         `db:"description"`
	Status         Status          `db:"status"`
	Uploader
}

// Name is the computed image:tag name of a benchmark.
func (b Benchmark) Name() string { return b.DockerImage + ":" + b.DockerTag }

// Site is a cloud site where benchmarks run.
type Site struct {
	ID             uuid.UUID `db:"id"`
	UploadDatetime time.Time `db:"upload_datetime"`
	Name           string    `db:"name"`
	Address        string    `db:"address"`
	Description    *string   `db:"description"`
	Status         Status    `db:"status"`
	Uploader
}

// Flavor is a virtual machine flavor of a site.
type Flavor struct {
	ID             uuid.UUID `db:"id"`
	UploadDatetime time.Time `db:"upload_datetime"`
	Name           string    `db:"name"`
	Description    *string   `db:"description"`
	SiteID         uuid.UUID `db:"site_id"`
	Status         Status    `db:"status"`
	Uploader
}

// CatalogFilter selects benchmarks, sites or flavors: the review status,
// upload dates, exact matches on the named fields that are set, and search
// terms.
type CatalogFilter struct {
	Status Status
	Dates  DateRange
	Exact  map[string]string // column -> value (docker_image, docker_tag, name, address)
	Terms  []string
}

// Submit is a pending review request.
type Submit struct {
	ID             uuid.UUID  `db:"id"`
	ResourceType   string     `db:"resource_type"`
	UploadDatetime time.Time  `db:"upload_datetime"`
	ResourceID     *uuid.UUID `db:"resource_id"`
	Uploader       *User      `db:"-"`
}

// SubmitFilter selects submits.
type SubmitFilter struct {
	ResourceType *string
	Dates        DateRange
}

// Reviewed is what approve and reject report back for the e-mail: the
// uploader's address (empty if the uploader has none).
type Reviewed struct {
	UploaderEmail string
}
