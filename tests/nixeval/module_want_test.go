package nixeval

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Assertions on a moduleResult, shared by the cases of TestModuleEvaluation.

func wantNoFailedAssertions(t *testing.T, r moduleResult) {
	t.Helper()
	if len(r.FailedAssertions) > 0 {
		t.Errorf("failed assertions: %q", r.FailedAssertions)
	}
}

func wantFailedAssertion(t *testing.T, r moduleResult, fragment string) {
	t.Helper()
	wantMessage(t, "failed assertion", r.FailedAssertions, fragment)
}

func wantWarning(t *testing.T, r moduleResult, fragment string) {
	t.Helper()
	wantMessage(t, "warning", r.Warnings, fragment)
}

func wantMessage(t *testing.T, kind string, messages []string, fragment string) {
	t.Helper()
	for _, m := range messages {
		if strings.Contains(m, fragment) {
			return
		}
	}
	t.Errorf("no %s mentions %q; all: %q", kind, fragment, messages)
}

func wantPorts(t *testing.T, where string, got []int, want ...int) {
	t.Helper()
	if want == nil {
		want = []int{}
	}
	if got == nil {
		got = []int{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s open TCP ports = %v, want %v", where, got, want)
	}
}

func wantInterfaces(t *testing.T, r moduleResult, want map[string][]int) {
	t.Helper()
	got := r.Firewall.Interfaces
	if got == nil {
		got = map[string][]int{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("per-interface open TCP ports = %v, want %v", got, want)
	}
}

func wantPostgreSQL(t *testing.T, r moduleResult, listen, dataDir string) {
	t.Helper()
	pg := r.PostgreSQL
	if !pg.Enable {
		t.Fatal("PostgreSQL is not enabled")
	}
	if pg.ListenAddresses != listen {
		t.Errorf("listen_addresses = %q, want %q", pg.ListenAddresses, listen)
	}
	if pg.DataDir != dataDir {
		t.Errorf("dataDir = %q, want %q", pg.DataDir, dataDir)
	}
	wantListed(t, "tmpfiles rules", r.Tmpfiles, "d "+dataDir+" 0700 postgres postgres - -")
	if pg.Package != "postgresql-17" {
		t.Errorf("PostgreSQL package = %q, want the pinned postgresql_17", pg.Package)
	}
	if !slices.Equal(pg.EnsureDatabases, []string{"eosc_perf"}) || len(pg.EnsureUsers) != 1 ||
		pg.EnsureUsers[0].Name != "eosc_perf" || !pg.EnsureUsers[0].EnsureDBOwnership {
		t.Errorf("ensureDatabases %v, ensureUsers %+v: want eosc_perf owned by eosc_perf", pg.EnsureDatabases, pg.EnsureUsers)
	}
}

// wantFirstHBALine checks the first rule of pg_hba.conf: ours must come
// before nixpkgs' defaults, which PostgreSQL would otherwise match first.
func wantFirstHBALine(t *testing.T, r moduleResult, want string) {
	t.Helper()
	for _, line := range strings.Split(r.PostgreSQL.Authentication, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line != want {
			t.Errorf("first pg_hba rule = %q, want %q; all:\n%s", line, want, r.PostgreSQL.Authentication)
		}
		return
	}
	t.Errorf("pg_hba has no rule, want %q first", want)
}

func wantUnit(t *testing.T, r moduleResult, name string) unit {
	t.Helper()
	u, ok := r.Units[name]
	if !ok {
		t.Fatalf("no systemd unit %s", name)
	}
	return u
}

func wantEnv(t *testing.T, u unit, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := u.Environment[k]; !ok || got != v {
			t.Errorf("environment %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
}

func wantCredential(t *testing.T, u unit, want string) {
	t.Helper()
	wantListed(t, "LoadCredential", u.credentials(), want)
}

func wantCredentialPrefix(t *testing.T, u unit, prefix string) {
	t.Helper()
	for _, c := range u.credentials() {
		if strings.HasPrefix(c, prefix) {
			return
		}
	}
	t.Errorf("no LoadCredential entry starts with %q: %q", prefix, u.credentials())
}

func wantListed(t *testing.T, what string, list []string, want string) {
	t.Helper()
	if !slices.Contains(list, want) {
		t.Errorf("%s %q lacks %q", what, list, want)
	}
}

func wantContains(t *testing.T, what, s, fragment string) {
	t.Helper()
	if !strings.Contains(s, fragment) {
		t.Errorf("%s lacks %q:\n%s", what, fragment, s)
	}
}
