package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The whole load command on a small data set: it builds the server, loads
// results, checks that the API, the store and the floor agree, and drives
// every scenario without an error. It keeps the command working as the
// service changes (a merge once broke the export scenarios without any
// other test noticing).
func TestQuickRunOfEveryScenario(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	code := run(ctx, []string{"-quick", "-n", "600", "-c", "2", "-d", "150ms", "-warmup", "0s"}, &out, &log)
	if code != 0 {
		t.Fatalf("load exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), log.String())
	}
	for _, name := range []string{"list", "filter", "search", "get", "upload", "stats", "bulk", "export-ndjson", "export-csv"} {
		if !strings.Contains(out.String(), "| "+name+" ") {
			t.Errorf("no row for scenario %s in:\n%s", name, out.String())
		}
	}
	if !strings.Contains(out.String(), "throughput in results:") {
		t.Errorf("no throughput lines in:\n%s", out.String())
	}
}
