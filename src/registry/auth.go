package registry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxTokenBody bounds the token response read from a realm.
const maxTokenBody = 1 << 20

// Client-visible reasons of a failed token flow.
var (
	errInsecureRealm = &reasonError{"Error: token realm is not an https URL"}
	errBadToken      = &reasonError{"Error: invalid token response"}
)

// challenge is one authentication challenge of a WWW-Authenticate header
// (RFC 7235): the scheme, lower-cased, and its parameters (names
// lower-cased).
type challenge struct {
	scheme string
	params map[string]string
}

// bearerChallenge returns the first Bearer challenge with a realm among the
// WWW-Authenticate values.
func bearerChallenge(values []string) (challenge, bool) {
	for _, ch := range parseChallenges(values) {
		if ch.scheme == "bearer" && ch.params["realm"] != "" {
			return ch, true
		}
	}
	return challenge{}, false
}

// parseChallenges parses WWW-Authenticate values such as
// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
// A bare token starts a new challenge; name=value pairs (values quoted or
// not) belong to the current one.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, s := range values {
		cur := -1
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			i := strings.IndexAny(s, " \t=,")
			if i < 0 {
				i = len(s)
			}
			tok := s[:i]
			s = strings.TrimLeft(s[i:], " \t")
			if strings.HasPrefix(s, "=") && cur >= 0 {
				var val string
				val, s = readValue(strings.TrimLeft(s[1:], " \t"))
				out[cur].params[strings.ToLower(tok)] = val
				continue
			}
			out = append(out, challenge{scheme: strings.ToLower(tok), params: map[string]string{}})
			cur = len(out) - 1
		}
	}
	return out
}

// readValue reads a parameter value, a quoted string (backslash escapes
// one character) or a token, and returns it with the rest of s.
func readValue(s string) (string, string) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexAny(s, " \t,")
		if i < 0 {
			return s, ""
		}
		return s[:i], s[i:]
	}
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				sb.WriteByte(s[i])
			}
		case '"':
			return sb.String(), s[i+1:]
		default:
			sb.WriteByte(s[i])
		}
	}
	return sb.String(), "" // unterminated: take what there is
}

// token fetches an anonymous pull token from the challenge's realm (the
// Docker token flow: GET realm?service=...&scope=...). It returns the token,
// or the status to report when the realm answers without one (401 when it
// refuses, 500 otherwise), or an error when the realm cannot be asked.
func (c *Checker) token(ctx context.Context, ch challenge, ref reference) (string, int, error) {
	u, err := url.Parse(ch.params["realm"])
	if err != nil || u.Scheme != "https" || u.Host == "" {
		// A plain-http realm would let anyone on the path see and replay
		// what we send; refuse it rather than downgrade.
		return "", 0, errInsecureRealm
	}
	u.User = nil // anonymous, whatever the registry put in the realm
	q := u.Query()
	if service := ch.params["service"]; service != "" {
		q.Set("service", service)
	}
	scope := ch.params["scope"]
	if scope == "" {
		scope = "repository:" + ref.path + ":pull"
	}
	q.Set("scope", scope)
	u.RawQuery = q.Encode()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", 0, errInsecureRealm
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", http.StatusUnauthorized, nil
	default:
		return "", http.StatusInternalServerError, nil
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenBody)).Decode(&body); err != nil {
		return "", 0, errBadToken
	}
	tok := body.Token
	if tok == "" {
		tok = body.AccessToken
	}
	if tok == "" {
		return "", 0, errBadToken
	}
	return tok, 0, nil
}
