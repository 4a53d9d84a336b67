package tests

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Request-path benchmarks over real HTTP against the real program and
// PostgreSQL: go test -run '^$' -bench . ./tests

// benchGet measures GET path with an optional token, in parallel.
func benchGet(b *testing.B, s *service, path, token string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", s.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkTagList: GET /tags, a page of 100 tags.
func BenchmarkTagList(b *testing.B) {
	s := startService(b, nil)
	tok := s.register(b, "bench", false)
	for i := range 150 {
		s.post(b, "/tags", tok, map[string]any{"name": fmt.Sprintf("tag-%03d", i), "description": "benchmark tag"}).want(b, 201)
	}
	benchGet(b, s, "/tags", "")
}

// BenchmarkAuthenticatedCallCachedToken: GET /users/self with a token
// already verified (cache hit: no outbound call, one user lookup).
func BenchmarkAuthenticatedCallCachedToken(b *testing.B) {
	s := startService(b, nil)
	tok := s.register(b, "bench", false)
	s.get(b, "/users/self", tok).want(b, 200)
	benchGet(b, s, "/users/self", tok)
}
