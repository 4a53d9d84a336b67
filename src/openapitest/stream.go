package openapitest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// validateStream checks a response whose declared media type is not JSON
// (the NDJSON and CSV exports): the Content-Type must be one the response
// declares; each NDJSON line must match the declared schema; a CSV body
// must parse as RFC 4180 with rows as wide as the header. handled is false
// for JSON responses, which the caller validates.
func (v *Validator) validateStream(resp *openapi3.Response, header http.Header, body []byte) (handled bool, err error) {
	ct := header.Get("Content-Type")
	mt, _, perr := mime.ParseMediaType(ct)
	if perr != nil || mt == "application/json" {
		return false, nil
	}
	media := resp.Content.Get(mt)
	if media == nil {
		if resp.Content.Get("application/json") != nil {
			return false, nil // the JSON check reports the wrong type
		}
		return true, fmt.Errorf("Content-Type %q is not declared", ct)
	}
	switch mt {
	case "application/x-ndjson":
		opts := append(schemaOptions(responseFormats), openapi3.VisitAsResponse(), openapi3.MultiErrors())
		for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			if len(body) == 0 {
				break
			}
			var value any
			if err := json.Unmarshal(line, &value); err != nil {
				return true, fmt.Errorf("NDJSON line %d is not JSON: %w", i+1, err)
			}
			if err := media.Schema.Value.VisitJSON(value, opts...); err != nil {
				return true, fmt.Errorf("NDJSON line %d: %w", i+1, err)
			}
		}
	case "text/csv":
		r := csv.NewReader(bytes.NewReader(body))
		if _, err := r.ReadAll(); err != nil { // FieldsPerRecord 0: as wide as the first row
			return true, fmt.Errorf("CSV body: %w", err)
		}
	}
	return true, nil
}
