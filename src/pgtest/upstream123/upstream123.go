// Package upstream123 holds a database made by EOSC Performance API 1.2.3
// itself (its own Alembic migrations, every row written through its HTTP
// API), for the adoption and rollback tests: the same database as a psql
// dump, as an INSERT-only dump a SQL driver can run, as a schema-only dump,
// and manifest.json with every call made and the state every id ended in.
// NOTES.md lists what the fixture shows about 1.2.3's layout. Only tests
// import this package.
package upstream123

import (
	"embed"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// The files, as their producer wrote them.
const (
	DumpFile    = "upstream-1.2.3.sql"         // pg_dump --no-owner --no-privileges, COPY form (psql only)
	InsertsFile = "upstream-1.2.3-inserts.sql" // pg_dump --inserts without \restrict lines
	SchemaFile  = "upstream-1.2.3-schema.sql"  // pg_dump --schema-only
)

//go:embed *.sql manifest.json NOTES.md
var FS embed.FS

// Read returns one of the files.
func Read(name string) string {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Manifest is the part of manifest.json the tests check.
type Manifest struct {
	Issuer            string          `json:"oidc_issuer"`
	AdminEntitlements string          `json:"admin_entitlements_setting"`
	Users             map[string]User `json:"users"`
	IDs               struct {
		Users      map[string]User   `json:"users"`
		Tags       map[string]Tag    `json:"tags"`
		Sites      map[string]Entity `json:"sites"`
		Flavors    map[string]Entity `json:"flavors"`
		Benchmarks map[string]Entity `json:"benchmarks"`
		Results    []Result          `json:"results"`
		Claims     map[string]Claim  `json:"claims"`
	} `json:"ids"`
	Expected map[string]int `json:"expected"`
}

// User is one of the fixture's users, with the userinfo it logged in with.
type User struct {
	Sub                  string   `json:"sub"`
	Iss                  string   `json:"iss"`
	Email                string   `json:"email"`
	Entitlements         []string `json:"eduperson_entitlement"`
	RegistrationDatetime string   `json:"registration_datetime"`
}

// Tag is a tag as created.
type Tag struct {
	ID          string  `json:"id"`
	CreatedBy   string  `json:"created_by"`
	Description *string `json:"description"`
}

// Entity is a site, flavor or benchmark with its final review state.
type Entity struct {
	ID          string `json:"id"`
	Site        string `json:"site"`
	SubmittedBy string `json:"submitted_by"`
	FinalState  string `json:"final_state"`
}

// Result is an uploaded result with its final state.
type Result struct {
	ID                string   `json:"id"`
	Benchmark         string   `json:"benchmark"`
	Flavor            string   `json:"flavor"`
	Site              string   `json:"site"`
	Uploader          string   `json:"uploader"`
	ExecutionReturned string   `json:"execution_datetime_returned"`
	UploadReturned    string   `json:"upload_datetime_returned"`
	Tags              []string `json:"tags"`
	FinalState        string   `json:"final_state"`
}

// Claim is a claim with the result it was filed on.
type Claim struct {
	ID         string `json:"id"`
	ResultID   string `json:"result_id"`
	ClaimedBy  string `json:"claimed_by"`
	FinalState string `json:"final_state"`
}

// Load parses manifest.json.
func Load() Manifest {
	var m Manifest
	if err := json.Unmarshal([]byte(Read("manifest.json")), &m); err != nil {
		panic(err)
	}
	return m
}

// restrictLine matches the \restrict and \unrestrict meta-commands of
// pg_dump 15.14 and later, which pg_dump writes with a random key.
var restrictLine = regexp.MustCompile(`(?m)^\\(un)?restrict .*$`)

// NormalizeSchemaDump prepares a pg_dump --schema-only output for
// comparison: its CREATE and ALTER statements (not the session settings,
// which differ between pg_dump versions, nor comments), as a sorted set (so
// that ordering does not matter).
func NormalizeSchemaDump(dump string) []string {
	dump = restrictLine.ReplaceAllString(dump, "")
	var stmts []string
	var cur []byte
	for _, line := range regexp.MustCompile(`\r?\n`).Split(dump, -1) {
		if len(line) == 0 || (len(line) >= 2 && line[:2] == "--") {
			continue
		}
		cur = append(cur, line...)
		cur = append(cur, '\n')
		if line[len(line)-1] == ';' {
			if stmt := string(cur); strings.HasPrefix(stmt, "CREATE ") || strings.HasPrefix(stmt, "ALTER ") {
				stmts = append(stmts, stmt)
			}
			cur = cur[:0]
		}
	}
	slices.Sort(stmts)
	return stmts
}
