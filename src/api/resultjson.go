package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// Results are written by hand into one buffer: the result document, the
// benchmark schema and the tag list are JSON text from the database and are
// copied as they are, never decoded and encoded again (the hot read path).
// The shape is the Result representation of API.md §4.

// appendResult appends one result object.
func appendResult(b []byte, r perf.Result) []byte {
	b = appendResultHead(b, r)
	b = appendRaw(b, r.JSON, "{}")
	return append(b, '}')
}

// appendResultHead appends a result object up to its last member, the
// document: `{"id":…,"json":`.
func appendResultHead(b []byte, r perf.Result) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, r.ID)
	b = append(b, `","upload_datetime":`...)
	b = appendTime(b, r.UploadDatetime)
	b = append(b, `,"execution_datetime":`...)
	b = appendTime(b, r.ExecutionDatetime)
	b = append(b, `,"benchmark":`...)
	b = appendBenchmark(b, r.Benchmark)
	b = append(b, `,"site":{"id":"`...)
	b = appendUUID(b, r.Site.ID)
	b = append(b, `","upload_datetime":`...)
	b = appendTime(b, r.Site.UploadDatetime)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Site.Name)
	b = append(b, `,"address":`...)
	b = appendString(b, r.Site.Address)
	b = appendOptString(b, "description", r.Site.Description)
	b = append(b, `},"flavor":{"id":"`...)
	b = appendUUID(b, r.Flavor.ID)
	b = append(b, `","upload_datetime":`...)
	b = appendTime(b, r.Flavor.UploadDatetime)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Flavor.Name)
	b = appendOptString(b, "description", r.Flavor.Description)
	b = append(b, `},"tags":`...)
	b = appendRaw(b, r.TagsJSON, "[]")
	return append(b, `,"json":`...)
}

// appendBenchmark appends the Benchmark representation.
func appendBenchmark(b []byte, bm perf.Benchmark) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, bm.ID)
	b = append(b, `","upload_datetime":`...)
	b = appendTime(b, bm.UploadDatetime)
	b = append(b, `,"docker_image":`...)
	b = appendString(b, bm.DockerImage)
	b = append(b, `,"docker_tag":`...)
	b = appendString(b, bm.DockerTag)
	b = append(b, `,"url":`...)
	b = appendString(b, bm.URL)
	b = append(b, `,"json_schema":`...)
	b = appendRaw(b, bm.JSONSchema, "{}")
	b = appendOptString(b, "description", bm.Description)
	return append(b, '}')
}

// writeResult writes one result as the response body.
func writeResult(w http.ResponseWriter, code int, r perf.Result) {
	head := appendResultHead(make([]byte, 0, resultSize(r)-len(r.JSON)), r)
	doc := r.JSON
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	// The document, up to MAX_BODY_BYTES, is written as it came from the
	// database, not copied into the body first.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(head)
	_, _ = w.Write(doc)
	_, _ = w.Write([]byte("}\n"))
}

// resultSize is about the encoded size of r: the buffer is allocated once,
// not grown (and copied) step by step through the size of a large document.
func resultSize(r perf.Result) int {
	return 1024 + len(r.JSON) + len(r.Benchmark.JSONSchema) + len(r.TagsJSON)
}

// writeResultPage writes a page of results in the pagination envelope.
func writeResultPage(w http.ResponseWriter, l perf.List[perf.Result]) error {
	env, err := pageOf(l, func(perf.Result) struct{} { return struct{}{} })
	if err != nil {
		return err
	}
	// Inside conditional (always, but for direct calls in tests) the page
	// is built straight into its pooled buffer, without a copy.
	bw, direct := w.(*bufferedWriter)
	var b []byte
	if direct && bw.code == 0 && len(bw.body) == 0 {
		b = bw.body
	} else {
		direct = false
		size := 512
		for _, r := range l.Items {
			size += resultSize(r)
		}
		b = make([]byte, 0, size)
	}
	b = append(b, `{"items":[`...)
	for i, r := range l.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendResult(b, r)
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(env.Total), 10)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(env.Page), 10)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(env.PerPage), 10)
	b = append(b, `,"pages":`...)
	b = strconv.AppendInt(b, int64(env.Pages), 10)
	b = append(b, `,"has_prev":`...)
	b = strconv.AppendBool(b, env.HasPrev)
	b = append(b, `,"has_next":`...)
	b = strconv.AppendBool(b, env.HasNext)
	if env.PrevNum != nil {
		b = append(b, `,"prev_num":`...)
		b = strconv.AppendInt(b, int64(*env.PrevNum), 10)
	}
	if env.NextNum != nil {
		b = append(b, `,"next_num":`...)
		b = strconv.AppendInt(b, int64(*env.NextNum), 10)
	}
	b = append(b, '}', '\n')
	if direct {
		bw.Header().Set("Content-Type", "application/json")
		bw.code, bw.body = http.StatusOK, b
		return nil
	}
	writeRaw(w, http.StatusOK, b[:len(b)-1])
	return nil
}

func appendUUID(b []byte, id uuid.UUID) []byte {
	var buf [36]byte
	hexEncode(buf[:], id)
	return append(b, buf[:]...)
}

// hexEncode writes the canonical lower-case form of id into dst.
func hexEncode(dst []byte, id uuid.UUID) {
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = perf.AppendTime(b, t)
	return append(b, '"')
}

// appendRaw appends JSON text from the database, or def when it is empty.
func appendRaw(b, raw []byte, def string) []byte {
	if len(raw) == 0 {
		return append(b, def...)
	}
	return append(b, raw...)
}

// appendOptString appends ,"name":"value" unless v is nil (null fields are
// omitted, API.md §1).
func appendOptString(b []byte, name string, v *string) []byte {
	if v == nil {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, *v)
}

// appendString appends s as a JSON string with the escaping of
// encoding/json (HTML characters escaped, invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s)
	return append(b, enc...)
}
