package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Validate returns why the response is not one the document allows for req,
// or nil. It records the operation as seen, whatever the outcome.
func (v *Validator) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	path := requestPath(req)
	t, params, found := v.match(path)
	if req.Method == http.MethodOptions {
		// Answered by the router for every path (API.md §1); not an operation.
		if !found {
			return v.bareError(status, http.StatusNotFound, header, body)
		}
		if status != http.StatusOK || len(body) != 0 || header.Get("Allow") == "" {
			return fmt.Errorf("OPTIONS must answer 200 with an Allow header and no body (status %d, Allow %q, %d bytes)",
				status, header.Get("Allow"), len(body))
		}
		return nil
	}
	if !found {
		return v.bareError(status, http.StatusNotFound, header, body)
	}
	method := req.Method
	if method == http.MethodHead {
		method = http.MethodGet // HEAD is the GET without a body
	}
	op := t.item.GetOperation(method)
	if op == nil {
		return v.bareError(status, http.StatusMethodNotAllowed, header, body)
	}
	v.record(op.OperationID)

	if status == http.StatusNotModified {
		// EXTENSIONS.md §X5: the answer to a GET whose If-None-Match holds
		// the current ETag, for any operation: no body, the ETag again.
		if method != http.MethodGet || req.Header.Get("If-None-Match") == "" || len(body) != 0 || header.Get("ETag") == "" {
			return fmt.Errorf("%s: 304 must answer a GET with If-None-Match, with an ETag and no body (%d bytes, ETag %q)",
				op.OperationID, len(body), header.Get("ETag"))
		}
		return nil
	}
	resp := op.Responses.Status(status)
	if resp == nil {
		return fmt.Errorf("%s: status %d is not declared (declared: %v)", op.OperationID, status, declared(op))
	}
	route := v.route(t, method, op)
	if status < 300 {
		if err := v.acceptedRequestIsValid(req, route, params); err != nil {
			return fmt.Errorf("%s: the server accepted a request the document forbids: %w", op.OperationID, err)
		}
	}
	if req.Method == http.MethodHead && len(body) != 0 {
		return fmt.Errorf("%s: a HEAD answer must have no body, got %d bytes", op.OperationID, len(body))
	}
	if req.Method == http.MethodHead || len(resp.Value.Content) == 0 {
		if len(body) != 0 {
			return fmt.Errorf("%s: status %d must have no body, got %d bytes", op.OperationID, status, len(body))
		}
		return nil
	}
	if handled, err := v.validateStream(resp.Value, header, body); handled {
		if err != nil {
			return fmt.Errorf("%s: %w", op.OperationID, err)
		}
		return nil
	}
	if err := isJSON(header); err != nil {
		return fmt.Errorf("%s: %w", op.OperationID, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: schemaOptions(responseFormats),
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s: %w", op.OperationID, err)
	}
	if err := envelopeAgrees(status, body); err != nil {
		return fmt.Errorf("%s: %w", op.OperationID, err)
	}
	return nil
}

// bareError checks an answer produced before any operation is chosen: an
// unknown path or method may only give that 404/405 as an Error body.
func (v *Validator) bareError(status, want int, header http.Header, body []byte) error {
	what := map[int]string{404: "no path of the document matches", 405: "the path has no such method"}[want]
	if status != want {
		return fmt.Errorf("%s, so the answer must be %d, got %d", what, want, status)
	}
	if err := isJSON(header); err != nil {
		return err
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	schema := v.doc.Components.Schemas["Error"].Value
	opts := append(schemaOptions(responseFormats), openapi3.VisitAsResponse(), openapi3.MultiErrors())
	if err := schema.VisitJSON(value, opts...); err != nil {
		return fmt.Errorf("body is not an Error: %w", err)
	}
	return envelopeAgrees(status, body)
}

// acceptedRequestIsValid validates the path and query parameters of a
// request the server accepted. Formats are those the server accepts
// (any-case UUIDs, one-digit months and days), not the output formats.
func (v *Validator) acceptedRequestIsValid(req *http.Request, route *routers.Route, params map[string]string) error {
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			ExcludeRequestBody:      true,
			SkipSettingDefaults:     true, // never touch the caller's request
			MultiError:              true,
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SchemaValidationOptions: schemaOptions(requestFormats),
		},
	}
	return openapi3filter.ValidateRequest(context.Background(), input)
}

// schemaOptions selects the formats and keeps schema dumps out of the
// messages (Check prints the body; the schema is in the document).
func schemaOptions(formats map[string]openapi3.StringFormatValidator) []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidators(formats), openapi3.DisableSchemaErrorDetails()}
}

func declared(op *openapi3.Operation) []string {
	var codes []string
	for code := range op.Responses.Map() {
		if code != "default" {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	return codes
}

func isJSON(header http.Header) error {
	ct := header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	return nil
}

// envelopeAgrees checks that an error body repeats the HTTP status: "code"
// and "status" of the normal envelope (API.md §3.3), "error" of the
// authentication body (API.md §2.6).
func envelopeAgrees(status int, body []byte) error {
	if status < 400 {
		return nil
	}
	var e struct {
		Code   *int    `json:"code"`
		Status *string `json:"status"`
		Error  *string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return nil // not an object: the schema check has reported it
	}
	switch {
	case e.Code != nil:
		if *e.Code != status || e.Status == nil || *e.Status != http.StatusText(status) {
			return fmt.Errorf("error envelope says %s, HTTP status is %d %q", excerpt(body), status, http.StatusText(status))
		}
	case e.Error != nil:
		want := map[int]string{401: "Unauthenticated", 403: "Forbidden"}[status]
		if *e.Error != want {
			return fmt.Errorf("authentication error %q with status %d, want %q", *e.Error, status, want)
		}
	}
	return nil
}

// Output formats of API.md §1: naive timestamps with a six-digit fraction
// only when non-zero, and lower-case UUIDs.
var (
	outputTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)
	outputUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

var responseFormats = map[string]openapi3.StringFormatValidator{
	"date-time": openapi3.NewCallbackValidator(func(s string) error {
		if !outputTime.MatchString(s) {
			return errors.New("not a timestamp like 2022-02-23T14:32:02.859960 (no offset, fraction only when non-zero)")
		}
		if len(s) > 19 && s[19:] == ".000000" {
			return errors.New("zero fraction must be omitted")
		}
		if _, err := time.Parse("2006-01-02T15:04:05", s[:19]); err != nil {
			return err
		}
		return nil
	}),
	"uuid": openapi3.NewRegexpFormatValidator(outputUUID.String()),
}

// Input formats the server accepts (API.md §1, §3.1, §8.3).
var (
	inputUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	inputDate = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})$`)
	inputTime = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}(:\d{1,2}(\.\d{1,12})?)?(Z|[+-]\d{2}(:?\d{2})?)?$`)
)

var requestFormats = map[string]openapi3.StringFormatValidator{
	"uuid": openapi3.NewRegexpFormatValidator(inputUUID.String()),
	"date": openapi3.NewCallbackValidator(func(s string) error {
		m := inputDate.FindStringSubmatch(s)
		if m == nil {
			return errors.New("not a date YYYY-MM-DD")
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		if t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC); t.Month() != time.Month(mo) || t.Day() != d {
			return errors.New("no such day")
		}
		return nil
	}),
	"date-time": openapi3.NewRegexpFormatValidator(inputTime.String()),
}
