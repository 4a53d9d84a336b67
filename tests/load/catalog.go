package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/eosc-perf/api/src/oidctest"
	"github.com/google/uuid"
)

// catalog is what the benchmark created through the API.
type catalog struct {
	UserToken   string // registered user: uploads
	UserSub     string
	UserIss     string
	BenchmarkID uuid.UUID
	Schema      json.RawMessage // the benchmark's json_schema
	Flavors     []flavorRef
	Tags        []uuid.UUID
}

// flavorRef is a created, approved flavor.
type flavorRef struct {
	ID, SiteID uuid.UUID
	Site       siteDef
	Flavor     flavorDef
}

// tagNames are the tags results are spread over.
var tagNames = []string{"c-ray", "egi-fedcloud", "baseline", "long-run", "reviewed"}

// apiClient calls the server.
type apiClient struct {
	base string
	http *http.Client
}

// call sends a request with an optional bearer token and JSON body and
// returns the status and body.
func (c *apiClient) call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must calls and insists on status want.
func (c *apiClient) must(ctx context.Context, want int, method, path, token string, body any) ([]byte, error) {
	status, b, err := c.call(ctx, method, path, token, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	return b, nil
}

// create POSTs body and returns the id of the created resource.
func (c *apiClient) create(ctx context.Context, path, token string, body any) (uuid.UUID, error) {
	b, err := c.must(ctx, http.StatusCreated, "POST", path, token, body)
	if err != nil {
		return uuid.Nil, err
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return uuid.Nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return v.ID, nil
}

// token mints a token for sub (with the admin entitlement if admin) valid
// for lifetime, and records the user's userinfo answer.
func token(op *oidctest.Provider, sub string, admin bool, lifetime time.Duration) (string, error) {
	u := oidctest.User{Sub: sub, Email: sub + "@example.org", EmailVerified: oidctest.Bool(true),
		Entitlements: []string{"urn:mace:egi.eu:group:perf"}}
	if admin {
		u.Entitlements = append(u.Entitlements, adminEntitlement)
	}
	return op.Mint(u, oidctest.TokenOptions{Lifetime: lifetime})
}

// createCatalog registers the users and creates and approves, through the
// API, the c-ray benchmark, the sites, their flavors and the tags.
func createCatalog(ctx context.Context, c *apiClient, op *oidctest.Provider, schemaDoc []byte, sites []siteDef) (catalog, error) {
	var cat catalog
	const lifetime = 2 * time.Hour // longer than any bounded run
	var err error
	if cat.UserToken, err = token(op, "load-user", false, lifetime); err != nil {
		return cat, err
	}
	admin, err := token(op, "load-admin", true, lifetime)
	if err != nil {
		return cat, err
	}
	cat.UserSub, cat.UserIss = "load-user", op.Issuer()
	for _, tok := range []string{cat.UserToken, admin} {
		if _, err := c.must(ctx, http.StatusCreated, "POST", "/users:register", tok, nil); err != nil {
			return cat, err
		}
	}

	cat.Schema = schemaDoc
	cat.BenchmarkID, err = c.create(ctx, "/benchmarks", cat.UserToken, map[string]any{
		"docker_image": "thechristophe/openbench-c-ray", "docker_tag": "latest",
		"url": "https://hub.docker.com/r/thechristophe/openbench-c-ray", "json_schema": json.RawMessage(schemaDoc),
		"description": "c-ray 1.2.0: total time to render a 4K scene with 16 rays per pixel (lower is better)"})
	if err != nil {
		return cat, err
	}
	approve := []string{"/benchmarks/" + cat.BenchmarkID.String()}
	for _, s := range sites {
		siteID, err := c.create(ctx, "/sites", cat.UserToken, map[string]any{
			"name": s.Name, "address": s.Address, "description": "EGI Federated Cloud site " + s.Name})
		if err != nil {
			return cat, err
		}
		approve = append(approve, "/sites/"+siteID.String())
		for _, f := range s.Flavors {
			body := map[string]any{"name": f.Name}
			if f.Cores > 0 {
				body["description"] = fmt.Sprintf("%d vCPU", f.Cores)
			}
			id, err := c.create(ctx, "/sites/"+siteID.String()+"/flavors", cat.UserToken, body)
			if err != nil {
				return cat, err
			}
			approve = append(approve, "/flavors/"+id.String())
			cat.Flavors = append(cat.Flavors, flavorRef{ID: id, SiteID: siteID, Site: s, Flavor: f})
		}
	}
	for _, p := range approve {
		if _, err := c.must(ctx, http.StatusNoContent, "POST", p+":approve", admin, nil); err != nil {
			return cat, err
		}
	}
	for _, name := range tagNames {
		id, err := c.create(ctx, "/tags", cat.UserToken, map[string]any{"name": name, "description": "load benchmark tag " + name})
		if err != nil {
			return cat, err
		}
		cat.Tags = append(cat.Tags, id)
	}
	return cat, nil
}
