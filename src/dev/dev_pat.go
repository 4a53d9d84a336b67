package dev

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/google/uuid"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/store"
)

// devRunnerToken creates, for the development user, a personal access token
// with the scope results:write (EXTENSIONS.md X1) and returns a printer for
// its block of the banner: what a benchmark pipeline would use.
func devRunnerToken(ctx context.Context, st *store.Store, owner perf.Uploader) (func(w io.Writer, a net.Addr), error) {
	secret, prefix, hash, err := auth.NewPAT()
	if err != nil {
		return nil, err
	}
	now := perf.Now()
	err = st.CreateToken(ctx, perf.NewToken{Hash: hash, Token: perf.Token{ID: uuid.New(), Name: "dev runner",
		Scopes: []perf.Scope{perf.ScopeResultsWrite}, Prefix: prefix, CreatedAt: now, ExpiresAt: now.Add(devTokenLifetime), Owner: owner}})
	if err != nil {
		return nil, err
	}
	return func(w io.Writer, a net.Addr) {
		_, port, _ := net.SplitHostPort(a.String())
		fmt.Fprintf(w, `
# a benchmark runner: personal access token of %s, scope results:write, valid for %s
export RUNNER_TOKEN=%s
curl -s -H "Authorization: Bearer $RUNNER_TOKEN" -H 'Content-Type: application/x-ndjson' \
     --data-binary @results.ndjson http://localhost:%s/results:bulk
`, owner.UploaderSub, devTokenLifetime.Round(time.Hour), secret, port)
	}, nil
}
