// Package openapi holds the OpenAPI 3 document the service publishes at
// /api-spec.json and the Swagger UI that renders it, both embedded in the
// binary so the documentation works offline.
//
// The document (api-spec.json) is upstream's published client specification
// adapted to what version 1.2.3 really does (spec/API.md §12): per-resource
// path parameter names, the benchmark url field, the responses that really
// occur (with the separate AuthError body of 401/403), optional next_num,
// prev_num and description fields, and `security: []` on public operations.
// operationIds and schema names are upstream's, so generated clients keep
// their method and type names. The file is maintained by hand from here on;
// the tests pin its operation list and each of these adaptations.
package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:embed api-spec.json
var specJSON []byte

// Operation is one operation of the document.
type Operation struct {
	Method      string // upper case, e.g. "GET"
	Path        string // OpenAPI template, e.g. "/tags/{tag_id}"
	OperationID string
}

// methodOrder lists the HTTP methods an OpenAPI path item may hold, in the
// order operations of one path are reported.
var methodOrder = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// topLevel is the document split into its top-level members; Document only
// replaces "servers" and re-encodes, keeping every other member verbatim.
var topLevel = sync.OnceValue(func() map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(specJSON, &m); err != nil {
		panic(fmt.Sprintf("openapi: embedded api-spec.json: %v", err))
	}
	return m
})

// docCache holds the rendered document per server URL. Callers pass the
// configured BACKEND_ROUTE, so it stays tiny; the bound only guards against
// a caller that derives the URL from requests.
var docCache struct {
	sync.Mutex
	m map[string][]byte
}

const maxCachedDocs = 16

// Document returns the OpenAPI document as compact JSON with
// servers = [{"url": serverURL}] (upstream serves BACKEND_ROUTE there). An
// empty serverURL means "/". The result is cached per serverURL and must not
// be modified by the caller.
func Document(serverURL string) []byte {
	if serverURL == "" {
		serverURL = "/"
	}
	docCache.Lock()
	if b, ok := docCache.m[serverURL]; ok {
		docCache.Unlock()
		return b
	}
	docCache.Unlock()

	b := render(serverURL)

	docCache.Lock()
	defer docCache.Unlock()
	if docCache.m == nil {
		docCache.m = make(map[string][]byte)
	}
	if len(docCache.m) < maxCachedDocs {
		docCache.m[serverURL] = b
	}
	return b
}

func render(serverURL string) []byte {
	servers, err := json.Marshal([]map[string]string{{"url": serverURL}})
	if err != nil {
		panic(fmt.Sprintf("openapi: encode servers: %v", err)) // a string map always encodes
	}
	src := topLevel()
	m := make(map[string]json.RawMessage, len(src))
	for k, v := range src {
		m[k] = v
	}
	m["servers"] = servers
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// The document's descriptions contain <br>; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(fmt.Sprintf("openapi: encode document: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// operations parses the operations once from the embedded document.
var operations = sync.OnceValue(func() []Operation {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(specJSON, &doc); err != nil {
		panic(fmt.Sprintf("openapi: embedded api-spec.json: %v", err))
	}
	var ops []Operation
	for path, item := range doc.Paths {
		for _, method := range methodOrder {
			raw, ok := item[method]
			if !ok {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				panic(fmt.Sprintf("openapi: %s %s: %v", method, path, err))
			}
			ops = append(ops, Operation{Method: strings.ToUpper(method), Path: path, OperationID: op.OperationID})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return ops
})

// Operations lists every operation of the document, sorted by path then
// method. The router-coverage test compares it with the routes served.
func Operations() []Operation {
	return slices.Clone(operations())
}
