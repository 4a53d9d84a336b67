package nixeval

import (
	"slices"
	"strings"
	"testing"
)

// The defects of issue 9 and the options it added, one evaluation each.
func TestModuleIssue9(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of nix/module.nix (issue 9 cases)")
	cases := []struct {
		name   string
		config string
		check  func(t *testing.T, r moduleResult)
	}{
		{
			// Defect 2: firewalld asserts networking.firewall.interfaces == { }.
			name:   "production API host with firewalld: a zone for frontend-net, no per-interface ports",
			config: `{ services.firewalld.enable = true; networking.firewall.allowedTCPPorts = [ 22 ]; services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + remoteDB + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantOpenOn(t, r, "firewalld", "eth1", 5000, 22) // the host's global ports stay open there
				if len(r.Firewall.Interfaces) > 0 {
					t.Errorf("networking.firewall.interfaces with firewalld: %v", r.Firewall.Interfaces)
				}
			},
		},
		{
			name:   "firewalld zone names stay within firewalld's 17 characters",
			config: `{ services.firewalld.enable = true; services.eosc-perf = { enable = true; frontendInterfaces = [ "eth1" "enp0s20f0u1u2" ]; ` + productionSecrets + remoteDB + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				zones := zonesOf(r)
				if len(zones) != 2 {
					t.Fatalf("zones %v, want one per interface", zones)
				}
				for name, z := range zones {
					if len(name) > 17 {
						t.Errorf("zone name %q is longer than 17 characters", name)
					}
					if len(z.Interfaces) != 1 || !slices.Contains(z.Ports, "5000/tcp") {
						t.Errorf("zone %s: %+v", name, z)
					}
				}
				wantOpenOn(t, r, "firewalld", "eth1", 5000)
			},
		},
		{
			// Defect 2: firewalld ignores extraCommands, so the rule vanished.
			name:   "database host with firewalld: the source filter is a rich rule",
			config: `{ services.firewalld.enable = true; services.eosc-perf = { ` + dbServer + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantSourceRule(t, r, "firewalld", 5432, "198.18.2.1/32", "eth1")
				wantBackendOnly(t, r, "firewalld")
			},
		},
		{
			name:   "networking.firewall.backend chosen explicitly wins over nftables.enable",
			config: `{ networking.nftables.enable = true; networking.firewall.backend = "iptables"; services.eosc-perf = { ` + dbServer + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantSourceRule(t, r, "iptables", 5432, "198.18.2.1/32", "eth1")
				wantBackendOnly(t, r, "iptables")
			},
		},
		{
			// Defect 3: a host whose PostgreSQL serves others keeps its
			// package, data directory and port; we only add ours.
			name: "a host with its own PostgreSQL: database and role added, server untouched",
			config: `{ services.postgresql = { enable = true; package = { type = "derivation"; name = "postgresql-16"; psqlSchema = "16"; outPath = "/nix/store/x-postgresql-16"; };
				dataDir = "/var/lib/postgresql/16"; settings.port = 5432; ensureDatabases = [ "other" ]; authentication = "local other other peer\n"; };
				services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				pg := r.PostgreSQL
				if pg.Package != "postgresql-16" || pg.DataDir != "/var/lib/postgresql/16" || pg.Port != 5432 || pg.ListenAddresses != "localhost" {
					t.Errorf("the host's server changed: package %s, dataDir %s, port %d, listen %q", pg.Package, pg.DataDir, pg.Port, pg.ListenAddresses)
				}
				if !slices.Contains(pg.EnsureDatabases, "other") || !slices.Contains(pg.EnsureDatabases, "eosc_perf") {
					t.Errorf("ensureDatabases %v, want other and eosc_perf", pg.EnsureDatabases)
				}
				wantContains(t, "pg_hba", pg.Authentication, "local other other peer")
				wantContains(t, "pg_hba", pg.Authentication, "local eosc_perf eosc_perf peer map=eosc-perf")
				for _, rule := range r.Tmpfiles {
					if strings.Contains(rule, "/data") {
						t.Errorf("tmpfiles creates the module's volume on a server it does not own: %s", rule)
					}
				}
			},
		},
		{
			name:   "a host without PostgreSQL of its own: enabled with nixpkgs' defaults, not owned",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				if !r.PostgreSQL.Enable || r.PostgreSQL.DataDir != "/var/lib/postgresql/17" {
					t.Errorf("PostgreSQL enable %v, dataDir %q: want enabled with nixpkgs' default directory", r.PostgreSQL.Enable, r.PostgreSQL.DataDir)
				}
			},
		},
		{
			name: "a host's PostgreSQL on another port than database.port is refused, saying what to set",
			config: `{ services.postgresql = { enable = true; settings.port = 6543; };
				services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "set services.eosc-perf.database.port = config.services.postgresql.settings.port")
			},
		},
		{
			name: "a database host whose own PostgreSQL does not listen on backend-net is refused",
			config: `{ services.postgresql.enable = true; services.eosc-perf = { databaseServer = { enable = true; listenAddresses = [ "198.18.2.3" ]; apiAddresses = [ "198.18.2.1" ]; };
				database.passwordFile = "/run/secrets/p"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, `does not listen on 198.18.2.3`)
			},
		},
		{
			// Defect 7: nix/module.nix alone takes pkgs.eosc-perf-api (the
			// overlay's), here the harness's stand-in pkgs.
			name:   "the module alone defaults its package to pkgs.eosc-perf-api",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				exec, _ := wantUnit(t, r, "eosc-perf").ServiceConfig["ExecStart"].(string)
				if exec != "/nix/store/00000000000000000000000000000000-eosc-perf-api/bin/eosc-perf-api serve" {
					t.Errorf("ExecStart %q, want pkgs.eosc-perf-api's", exec)
				}
			},
		},
		{
			name: "proxy with ACME: nixpkgs' acme assertions apply until the terms are accepted",
			config: `{ services.eosc-perf = { enable = true; ` + productionSecrets + remoteDB + `
				proxy = { enable = true; hostName = "perf.example.org"; acme = true; interfaces = [ "eth0" ]; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "security.acme.acceptTerms")
				wantFailedAssertion(t, r, "security.acme.defaults.email")
				if !r.Nginx.VirtualHosts["perf.example.org"].EnableACME || strings.Join(r.Nginx.ACMECerts, ",") != "perf.example.org" {
					t.Errorf("enableACME %v, acme certs %v", r.Nginx.VirtualHosts["perf.example.org"].EnableACME, r.Nginx.ACMECerts)
				}
			},
		},
		{
			name: "proxy with ACME and the terms accepted",
			config: `{ security.acme = { acceptTerms = true; defaults.email = "ops@example.org"; };
				services.eosc-perf = { enable = true; ` + productionSecrets + remoteDB + `
				proxy = { enable = true; hostName = "perf.example.org"; acme = true; interfaces = [ "eth0" ]; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantProxy(t, r, []string{"127.0.0.1:5000"}, "/api/v1")
			},
		},
		{
			name:   "proxy without certificate or ACME is refused",
			config: `{ services.eosc-perf = { enable = true; ` + productionSecrets + remoteDB + ` proxy = { enable = true; hostName = "perf.example.org"; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "set acme = true")
			},
		},
		{
			// Issue 14's one-origin layout: the frontend at /, the API under a prefix.
			name: "proxy host for two API hosts with the web frontend at /",
			config: `{ services.eosc-perf.proxy = { enable = true; hostName = "perf.example.org"; interfaces = [ "eth0" ]; listenAddresses = [ "198.18.1.1" ];
				sslCertificate = "/var/lib/tls/cert.pem"; sslCertificateKey = "/run/secrets/tls-key.pem";
				upstreams = [ "198.18.2.1:5000" "198.18.2.2:5000" ]; apiPrefix = "/api/v2"; frontendRoot = "/var/www/perf"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantProxy(t, r, []string{"198.18.2.1:5000", "198.18.2.2:5000"}, "/api/v2")
				vh := r.Nginx.VirtualHosts["perf.example.org"]
				root := vh.Locations["/"]
				if root.Root == nil || *root.Root != "/var/www/perf" || root.TryFiles == nil || *root.TryFiles != "$uri $uri/ /index.html" {
					t.Errorf("location / = %+v, want the frontend root with the index.html fallback", root)
				}
				if strings.Join(vh.ListenAddresses, ",") != "198.18.1.1" || vh.SSLCertificate == nil || *vh.SSLCertificate != "/var/lib/tls/cert.pem" {
					t.Errorf("listen %v, certificate %v", vh.ListenAddresses, vh.SSLCertificate)
				}
				if _, ok := r.Units["eosc-perf"]; ok {
					t.Error("the proxy host runs the API")
				}
				wantOpenOn(t, r, "iptables", "eth0", 80, 443)
			},
		},
		{
			name:   "proxy at the root: no prefix, no X-Script-Name, and no frontend",
			config: `{ services.eosc-perf = { enable = true; ` + productionSecrets + remoteDB + ` proxy = { enable = true; hostName = "perf.example.org"; interfaces = [ "eth0" ]; sslCertificate = "/c"; sslCertificateKey = "/k"; apiPrefix = ""; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantProxy(t, r, []string{"127.0.0.1:5000"}, "")
				loc := r.Nginx.VirtualHosts["perf.example.org"].Locations["/"]
				if *loc.ProxyPass != "http://eosc-perf-api" || strings.Contains(loc.ExtraConfig, "X-Script-Name") {
					t.Errorf("location / = %+v, want the API unchanged", loc)
				}
			},
		},
		{
			name:   "a proxy host without API needs upstreams",
			config: `{ services.eosc-perf.proxy = { enable = true; hostName = "perf.example.org"; sslCertificate = "/c"; sslCertificateKey = "/k"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "set proxy.upstreams to the API hosts")
				wantWarning(t, r, "no firewall rule opens ports 80 and 443")
			},
		},
		{
			name:   "API hosts behind a proxy on another host: the port open to the proxy only",
			config: `{ networking.nftables.enable = true; services.eosc-perf = { enable = true; listenAddress = "198.18.2.1"; frontendInterfaces = [ "eth1" ]; proxyAddresses = [ "198.18.2.10" ]; ` + productionSecrets + remoteDB + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantSourceRule(t, r, "nftables", 5000, "198.18.2.10/32", "eth1")
				wantInterfaces(t, r, map[string][]int{})
			},
		},
		{
			name:   "environmentFile reaches systemd, never the store",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; environmentFile = "/run/agenix/eosc-perf-env"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				if got := wantUnit(t, r, "eosc-perf").ServiceConfig["EnvironmentFile"]; got != "/run/agenix/eosc-perf-env" {
					t.Errorf("EnvironmentFile = %v", got)
				}
			},
		},
		{
			name:   "an environmentFile in the store is refused",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; environmentFile = "/nix/store/00000000000000000000000000000000-env"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "must not be in the Nix store")
			},
		},
		{
			name:   "backup without a PostgreSQL of this module is refused",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + remoteDB + ` backup.enable = true; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "services.eosc-perf.backup runs where this module configures PostgreSQL")
			},
		},
		{
			name:   "backup retention and directory",
			config: `{ services.eosc-perf = { ` + dbServer + ` backup = { enable = true; keep = 3; directory = "/srv/backup"; startAt = "hourly"; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				b := wantUnit(t, r, "eosc-perf-backup")
				wantContains(t, "backup script", b.Script, "dir=/srv/backup")
				wantContains(t, "backup script", b.Script, "tail -n +4")
				wantListed(t, "tmpfiles", r.Tmpfiles, "d /srv/backup 0700 postgres postgres - -")
				if b.StartAt != "hourly" {
					t.Errorf("startAt %v", b.StartAt)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, evalModule(t, libDir, tc.config))
		})
	}
}
