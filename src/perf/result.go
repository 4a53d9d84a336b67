package perf

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Result is one uploaded benchmark result with what it points to. The JSON
// document and the rendered tag list stay raw bytes from the database to
// the response: they are never decoded on the read path.
type Result struct {
	ID                uuid.UUID
	UploadDatetime    time.Time
	ExecutionDatetime time.Time
	JSON              json.RawMessage
	Deleted           bool
	Benchmark         Benchmark
	Site              Site
	Flavor            Flavor
	// TagsJSON is the JSON array of the result's tags, as the Tag
	// representation (rendered by the database).
	TagsJSON json.RawMessage
	Uploader
}

// ResultFilter selects results (API.md §5.5). Visible results only, unless
// IncludeDeleted (the owner's own listing).
type ResultFilter struct {
	Uploaded       DateRange
	Executed       DateRange
	BenchmarkID    *uuid.UUID
	SiteID         *uuid.UUID
	FlavorID       *uuid.UUID
	TagIDs         []uuid.UUID // all must be present
	Filters        []JSONFilter
	Terms          []string
	Uploader       *Uploader
	IncludeDeleted bool
}

// NewResult is what POST /results stores.
type NewResult struct {
	ID                uuid.UUID
	UploadDatetime    time.Time
	ExecutionDatetime time.Time
	JSON              json.RawMessage
	BenchmarkID       uuid.UUID
	FlavorID          uuid.UUID
	TagIDs            []uuid.UUID
	Uploader
}

// Claim is a report that a result is wrong; it hides the result until an
// administrator rejects it.
type Claim struct {
	ID             uuid.UUID  `db:"id"`
	UploadDatetime time.Time  `db:"upload_datetime"`
	Message        string     `db:"message"`
	ResourceType   string     `db:"resource_type"`
	ResultID       *uuid.UUID `db:"result_id"`
	Status         Status     `db:"status"`
	Claimant       User       `db:"claimant"`
}

// ClaimFilter selects claims.
type ClaimFilter struct {
	Status   Status
	Dates    DateRange
	ResultID *uuid.UUID
	Claimant *Uploader
}

// ClaimReviewed is what approving or rejecting a claim reports back for the
// e-mails.
type ClaimReviewed struct {
	ClaimantEmail string
	ResultID      *uuid.UUID
	// Restored is set when rejecting the claim made its result visible
	// again; ResultUploaderEmail is then whom to tell.
	Restored            bool
	ResultUploaderEmail string
}
