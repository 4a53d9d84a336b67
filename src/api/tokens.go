package api

// Personal access tokens (EXTENSIONS.md X1): create, list, revoke.

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/perf"
)

// Limits of CreateToken's body.
const (
	tokenNameMax        = 64
	tokenDaysDefault    = 90
	tokenDaysMax        = 365
	tokenScopesErrorMsg = "Must be one of: results:write, catalog:write, read."
)

// tokenJSON is the Token representation; Token (the secret) only in the
// answer of CreateToken.
type tokenJSON struct {
	ID         uuid.UUID       `json:"id"`
	Name       string          `json:"name"`
	Scopes     []perf.Scope    `json:"scopes"`
	Prefix     string          `json:"prefix"`
	CreatedAt  perf.Timestamp  `json:"created_at"`
	ExpiresAt  perf.Timestamp  `json:"expires_at"`
	LastUsedAt *perf.Timestamp `json:"last_used_at"`
	Token      string          `json:"token,omitempty"`
}

func toTokenJSON(t perf.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, Name: t.Name, Scopes: t.Scopes, Prefix: t.Prefix,
		CreatedAt: perf.Timestamp(t.CreatedAt), ExpiresAt: perf.Timestamp(t.ExpiresAt)}
	if t.LastUsedAt != nil {
		ts := perf.Timestamp(*t.LastUsedAt)
		out.LastUsedAt = &ts
	}
	return out
}

// newTokenRequest is a validated CreateToken body.
type newTokenRequest struct {
	name   string
	scopes []perf.Scope
	days   int
}

// decodeNewToken checks CreateToken's body member by member, marshmallow
// style: every problem of every member at once, unknown members refused.
func decodeNewToken(r *http.Request) (newTokenRequest, error) {
	req := newTokenRequest{days: tokenDaysDefault}
	obj, err := readObject(r)
	if err != nil {
		return req, err
	}
	problems := map[string]any{}
	for name := range obj {
		if name != "name" && name != "scopes" && name != "expires_in_days" {
			problems[name] = []string{"Unknown field."}
		}
	}
	if v, ok := obj["name"]; !ok {
		problems["name"] = []string{"Missing data for required field."}
	} else if msg := checkKind(kindString, v, nil); msg != nil { // its own length rule below
		problems["name"] = msg
	} else {
		_ = json.Unmarshal(v, &req.name)
		if n := utf8.RuneCountInString(req.name); n < 1 || n > tokenNameMax {
			problems["name"] = []string{"Length must be between 1 and 64."}
		}
	}
	if v, ok := obj["scopes"]; !ok {
		problems["scopes"] = []string{"Missing data for required field."}
	} else if msg := checkScopes(v, &req.scopes); msg != nil {
		problems["scopes"] = msg
	}
	if v, ok := obj["expires_in_days"]; ok {
		var f float64
		if json.Unmarshal(v, &f) != nil || f != float64(int(f)) {
			problems["expires_in_days"] = []string{"Not a valid integer."}
		} else if req.days = int(f); req.days < 1 || req.days > tokenDaysMax {
			problems["expires_in_days"] = []string{"Must be greater than or equal to 1 and less than or equal to 365."}
		}
	}
	if len(problems) > 0 {
		return req, perf.FieldErrors("json", problems)
	}
	return req, nil
}

// checkScopes reads a non-empty list of distinct scope names: more items
// than there are scopes are refused before any is looked at.
func checkScopes(v json.RawMessage, out *[]perf.Scope) any {
	items, msg := listItems(v, len(perf.Scopes))
	if msg != nil {
		return msg
	}
	if len(items) == 0 {
		return []string{"Shorter than minimum length 1."}
	}
	bad := map[string]any{}
	for i, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil || !slices.Contains(perf.Scopes, perf.Scope(s)) {
			bad[itoa(i)] = []string{tokenScopesErrorMsg}
			continue
		}
		if slices.Contains(*out, perf.Scope(s)) {
			bad[itoa(i)] = []string{"Scopes must be distinct."}
			continue
		}
		*out = append(*out, perf.Scope(s))
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// handleTokenCreate handles POST /users/self/tokens (OpenID Connect token
// only: the access column closes it to PATs).
func (s *server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	req, err := decodeNewToken(r)
	if err != nil {
		return err
	}
	secret, prefix, hash, err := auth.NewPAT()
	if err != nil {
		return perf.Wrap(err, "create token")
	}
	c := callerOf(r)
	now := perf.Now()
	n := perf.NewToken{Hash: hash, Token: perf.Token{ID: uuid.New(), Name: req.name, Scopes: req.scopes, Prefix: prefix,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(req.days) * 24 * time.Hour),
		Owner: perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}}}
	if err := s.store.CreateToken(r.Context(), n); err != nil {
		return err
	}
	body := toTokenJSON(n.Token)
	body.Token = secret
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// handleTokenList handles GET /users/self/tokens: the caller's tokens,
// newest first, never a secret.
func (s *server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page")
	p := q.page()
	if err := q.err(); err != nil {
		return err
	}
	c := callerOf(r)
	l, err := s.store.ListTokens(r.Context(), perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}, p)
	if err != nil {
		return err
	}
	body, err := pageOf(l, toTokenJSON)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// handleTokenRevoke handles DELETE /users/self/tokens/{token_id}: another
// user's token is a 404, as if it did not exist.
func (s *server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	c := callerOf(r)
	err := s.store.DeleteToken(r.Context(), perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}, pathUUID(r, "token_id"))
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}
