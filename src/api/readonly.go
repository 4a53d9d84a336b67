package api

import (
	"encoding/json"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// The read-only members of the representations. A PUT may send them back
// unchanged (API.md §13.1 item 12): the web frontend's editors send the
// whole representation they read, with the edited fields changed.
var (
	echoID       = field{name: "id", readOnly: true}
	echoUploaded = field{name: "upload_datetime", readOnly: true}
)

// withEcho returns the body schema of an update: the writable fields plus
// the read-only members of the resource's representation.
func withEcho(fields []field, readOnly ...field) []field {
	out := make([]field, 0, len(fields)+len(readOnly))
	return append(append(out, fields...), readOnly...)
}

// stored holds the current values of a resource's read-only members.
type stored struct {
	id       uuid.UUID
	uploaded time.Time // unused for tags, whose representation has none
}

// checkEcho compares the read-only members of b with the stored values:
// equal values are dropped from b, any other value (of any type) is 422
// "Read-only field.". load reads the stored resource (its 404 answers the
// request); it is called only when b holds a read-only member, so bodies
// without them cost no extra query.
func checkEcho(b body, load func() (stored, error)) error {
	rawID, hasID := b[echoID.name]
	rawUp, hasUp := b[echoUploaded.name]
	if !hasID && !hasUp {
		return nil
	}
	cur, err := load()
	if err != nil {
		return err
	}
	problems := map[string]any{}
	if hasID && !sameUUID(rawID, cur.id) {
		problems[echoID.name] = []string{"Read-only field."}
	}
	if hasUp && !sameTime(rawUp, cur.uploaded) {
		problems[echoUploaded.name] = []string{"Read-only field."}
	}
	if len(problems) > 0 {
		return perf.FieldErrors("json", problems)
	}
	delete(b, echoID.name)
	delete(b, echoUploaded.name)
	return nil
}

// sameUUID reports whether v is a JSON string naming id in any form the
// API accepts for UUIDs (letter case, no dashes, braces, urn:uuid:).
func sameUUID(v json.RawMessage, id uuid.UUID) bool {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u == id
}

// echoLayouts are the timestamp forms compared with a stored time: the
// API's own output (no offset, fraction only when non-zero; naive means
// UTC as everywhere in the API) and the same with an offset. Go accepts a
// fraction of any length after the seconds even though the layouts have
// none.
var echoLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05Z07:00"}

// sameTime reports whether v is a JSON string holding the instant t, in
// the format the GET returned or an equivalent one ('T' or space
// separator, any fraction length, an explicit offset).
func sameTime(v json.RawMessage, t time.Time) bool {
	var s string
	if json.Unmarshal(v, &s) != nil || len(s) < len("2006-01-02 15:04:05") {
		return false
	}
	if s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range echoLayouts {
		if got, err := time.Parse(layout, s); err == nil {
			return got.Equal(t)
		}
	}
	return false
}
