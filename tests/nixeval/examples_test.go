package nixeval

import (
	"slices"
	"strings"
	"testing"
)

// The production topology of the README (nix/examples): a proxy host, two
// API hosts and a database host with the backup. Each passes every
// assertion, and the hosts agree with each other: the proxy's upstreams are
// the API hosts, each API host lets in the proxy only and talks to the
// database on its (non-default) port, which lets in the API hosts only.
func TestProductionExamples(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of the README's production hosts (nix/examples)")
	var got struct {
		Proxy moduleResult `json:"proxy"`
		API1  moduleResult `json:"api1"`
		API2  moduleResult `json:"api2"`
		DB    moduleResult `json:"db"`
	}
	evalJSON(t, libDir, `let h = configuration: import (repo + "/nix/tests/eval-harness.nix") { inherit lib configuration; }; in {
		proxy = h (repo + "/nix/examples/proxy-host.nix");
		api1 = h (import (repo + "/nix/examples/api-host.nix") { address = "198.18.2.1"; });
		api2 = h (import (repo + "/nix/examples/api-host.nix") { address = "198.18.2.2"; });
		db = h (repo + "/nix/examples/db-host.nix"); }`, &got)

	for name, r := range map[string]moduleResult{"proxy": got.Proxy, "api1": got.API1, "api2": got.API2, "db": got.DB} {
		t.Run(name+" passes every assertion, nothing opened everywhere", func(t *testing.T) {
			wantNoFailedAssertions(t, r)
			wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
			if len(r.Warnings) > 0 {
				t.Errorf("warnings: %q", r.Warnings)
			}
		})
	}
	t.Run("the proxy: TLS by ACME, 80 and 443 on frontend-net, the two API hosts upstream", func(t *testing.T) {
		wantProxy(t, got.Proxy, []string{"198.18.2.1:5000", "198.18.2.2:5000"}, "/api/v1")
		wantOpenOn(t, got.Proxy, "iptables", "eth0", 80, 443)
		if !got.Proxy.Nginx.VirtualHosts["perf.example.org"].EnableACME {
			t.Error("the example proxy does not use ACME")
		}
	})
	for i, api := range []moduleResult{got.API1, got.API2} {
		addr := []string{"198.18.2.1", "198.18.2.2"}[i]
		t.Run("API host "+addr+": listens on its address, lets in the proxy only, database on 5433", func(t *testing.T) {
			u := wantUnit(t, api, "eosc-perf")
			wantEnv(t, u, map[string]string{"LISTEN_ADDR": addr + ":5000", "DB_HOST": "198.18.2.3", "DB_PORT": "5433"})
			wantSourceRule(t, api, "iptables", 5000, "198.18.2.10/32", "eth0")
			wantInterfaces(t, api, map[string][]int{})
			if api.PostgreSQL.Enable {
				t.Error("PostgreSQL on an API host")
			}
		})
	}
	t.Run("database host: PostgreSQL on 5433 for the API hosts only, the backup", func(t *testing.T) {
		db := got.DB
		wantPostgreSQL(t, db, "198.18.2.3", "/data")
		if db.PostgreSQL.Port != 5433 {
			t.Errorf("PostgreSQL port %d, want 5433", db.PostgreSQL.Port)
		}
		wantSourceRule(t, db, "nftables", 5433, "198.18.2.1/32, 198.18.2.2/32", "eth0")
		for _, a := range []string{"198.18.2.1/32", "198.18.2.2/32"} {
			wantContains(t, "pg_hba", db.PostgreSQL.Authentication, "host eosc_perf eosc_perf "+a+" scram-sha-256")
		}
		b := wantUnit(t, db, "eosc-perf-backup")
		wantContains(t, "backup", b.Script, "--port=5433")
		if !slices.Contains(db.Tmpfiles, "d /var/backup/eosc-perf 0700 postgres postgres - -") {
			t.Errorf("tmpfiles %v lack the backup directory", db.Tmpfiles)
		}
		if !strings.Contains(wantUnit(t, db, "postgresql-setup").Script, "scram-verifier") {
			t.Error("the role password is not set from its verifier")
		}
	})
}
