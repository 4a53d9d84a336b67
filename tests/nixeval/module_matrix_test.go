package nixeval

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// One combination of the deployment choices the module supports.
type combination struct {
	remoteDB, production, proxy, backup bool
	backend                             string // iptables, nftables, firewalld
}

func (c combination) name() string {
	return fmt.Sprintf("db=%s/%s/firewall=%s/proxy=%v/backup=%v",
		map[bool]string{true: "remote", false: "local"}[c.remoteDB],
		map[bool]string{true: "production", false: "development"}[c.production], c.backend, c.proxy, c.backup)
}

// backendConfig selects the firewall backend the way a NixOS user does.
func backendConfig(b string) string {
	switch b {
	case "nftables":
		return `networking.nftables.enable = true;`
	case "firewalld":
		return `services.firewalld.enable = true;`
	}
	return ``
}

// The database port of every combination is not 5432, so that a place that
// ignores database.port shows.
const matrixDBPort = 5433

// hosts returns the NixOS configurations of the combination: the API host
// (with the proxy, when on) and, for a remote database, the database host
// (which then runs the backup).
func (c combination) hosts() (api, db string) {
	mode := `environment = "development";`
	if c.production {
		mode = `environment = "production"; ` + productionSecrets
	}
	// Two modules, as a host's configuration would spread them.
	common := `{ imports = [ { ` + backendConfig(c.backend) + ` services.eosc-perf.database.port = ` + fmt.Sprint(matrixDBPort) + `; } `
	proxy, frontend := ``, apiFrontend
	if c.proxy {
		// The API behind a proxy on the same host listens on loopback.
		frontend = ``
		proxy = `proxy = { enable = true; hostName = "perf.example.org"; interfaces = [ "eth0" ];
			sslCertificate = "/var/lib/tls/cert.pem"; sslCertificateKey = "/run/secrets/tls-key.pem"; };`
	}
	backup := `backup.enable = ` + fmt.Sprint(c.backup) + `;`
	if !c.remoteDB {
		api = common + `{ services.eosc-perf = { enable = true; ` + mode + frontend + proxy + backup +
			` database.manageServer = true; }; } ]; }`
		return api, ""
	}
	api = common + `{ services.eosc-perf = { enable = true; ` + mode + frontend + proxy + remoteDB + ` }; } ]; }`
	db = common + `{ services.eosc-perf = { ` + mode + dbServer + backup + ` }; } ]; }`
	return api, db
}

// TestModuleMatrix evaluates every combination of local/remote database,
// production/development, the three firewall backends, proxy on/off and
// backup on/off, and checks the invariants that hold in each.
func TestModuleMatrix(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of the module's combinations")
	var combos []combination
	for _, remote := range []bool{false, true} {
		for _, prod := range []bool{true, false} {
			for _, backend := range []string{"iptables", "nftables", "firewalld"} {
				for _, proxy := range []bool{false, true} {
					for _, backup := range []bool{false, true} {
						combos = append(combos, combination{remote, prod, proxy, backup, backend})
					}
				}
			}
		}
	}
	// One evaluation for all: a list of { api; db; } results.
	var exprs []string
	for _, c := range combos {
		api, db := c.hosts()
		e := `{ api = h (` + api + `);`
		if db != "" {
			e += ` db = h (` + db + `);`
		}
		exprs = append(exprs, e+` }`)
	}
	var results []struct {
		API moduleResult  `json:"api"`
		DB  *moduleResult `json:"db"`
	}
	evalJSON(t, libDir, `let h = configuration: import (repo + "/nix/tests/eval-harness.nix") { inherit lib configuration; }; in [ `+
		strings.Join(exprs, " ")+` ]`, &results)
	if len(results) != len(combos) {
		t.Fatalf("%d results for %d combinations", len(results), len(combos))
	}
	for i, c := range combos {
		t.Run(c.name(), func(t *testing.T) {
			checkCombination(t, c, results[i].API, results[i].DB)
		})
	}
}

func checkCombination(t *testing.T, c combination, api moduleResult, db *moduleResult) {
	hosts := []moduleResult{api}
	if db != nil {
		hosts = append(hosts, *db)
	}
	for _, r := range hosts {
		wantNoFailedAssertions(t, r)
		if r.Firewall.Backend != c.backend {
			t.Errorf("firewall backend %q, want %q", r.Firewall.Backend, c.backend)
		}
		wantBackendOnly(t, r, c.backend)
		// Nothing is opened on every interface: openFirewall is off.
		wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
	}

	// The API host.
	u := wantUnit(t, api, "eosc-perf")
	wantHardenedNoSecretValues(t, u)
	wantEnv(t, u, map[string]string{"DB_PORT": fmt.Sprint(matrixDBPort)})
	switch {
	case c.proxy:
		wantEnv(t, u, map[string]string{"LISTEN_ADDR": "127.0.0.1:5000"})
		wantOpenOn(t, api, c.backend, "eth0", 80, 443)
		wantProxy(t, api, []string{"127.0.0.1:5000"}, "/api/v1")
	case c.production:
		wantEnv(t, u, map[string]string{"LISTEN_ADDR": "198.18.1.1:5000"})
		wantOpenOn(t, api, c.backend, "eth1", 5000)
	default:
		// Development: listenAddress is set, so it listens there, but the
		// firewall opens nothing.
		wantEnv(t, u, map[string]string{"LISTEN_ADDR": "198.18.1.1:5000"})
		if len(api.Firewall.Interfaces) > 0 || len(zonesOf(api)) > 0 {
			t.Errorf("development opens ports: interfaces %v, zones %v", api.Firewall.Interfaces, zonesOf(api))
		}
	}
	if !c.proxy && api.Nginx.Enable {
		t.Error("nginx enabled without the proxy option")
	}

	// Where PostgreSQL runs.
	pgHost := api
	if db != nil {
		pgHost = *db
		wantEnv(t, u, map[string]string{"DB_HOST": "198.18.2.3"})
		if api.PostgreSQL.Enable {
			t.Error("PostgreSQL enabled on an API host with a remote database")
		}
		wantSourceRule(t, *db, c.backend, matrixDBPort, "198.18.2.1/32", "eth1")
		wantFirstHBALine(t, *db, "host eosc_perf eosc_perf 198.18.2.1/32 scram-sha-256")
		if _, ok := db.Units["eosc-perf"]; ok {
			t.Error("the database host runs the API")
		}
	} else {
		wantEnv(t, u, map[string]string{"DB_HOST": "/run/postgresql"})
	}
	if pgHost.PostgreSQL.Port != matrixDBPort {
		t.Errorf("PostgreSQL port %d, want %d", pgHost.PostgreSQL.Port, matrixDBPort)
	}
	backup, ok := pgHost.Units["eosc-perf-backup"]
	if ok != c.backup {
		t.Errorf("backup unit present: %v, want %v", ok, c.backup)
	}
	if ok {
		wantContains(t, "backup script", backup.Script, fmt.Sprintf("--port=%d --format=custom", matrixDBPort))
		wantListed(t, "backup path", backup.Path, "postgresql-17")
		if backup.StartAt == nil || fmt.Sprint(backup.StartAt) == "[]" {
			t.Error("the backup has no schedule (startAt)")
		}
		if backup.ServiceConfig["User"] != "postgres" {
			t.Errorf("backup runs as %v, want postgres", backup.ServiceConfig["User"])
		}
	}
}

// wantBackendOnly: each backend's own mechanism only, which is what the
// nftables (extraCommands) and firewalld (interfaces) assertions demand and
// what firewalld silently ignores (extraCommands, extraInputRules).
func wantBackendOnly(t *testing.T, r moduleResult, backend string) {
	t.Helper()
	fw := r.Firewall
	if backend != "iptables" && fw.ExtraCommands != "" {
		t.Errorf("iptables commands with the %s firewall: %q", backend, fw.ExtraCommands)
	}
	if backend != "nftables" && fw.ExtraInputRules != "" {
		t.Errorf("nftables rules with the %s firewall: %q", backend, fw.ExtraInputRules)
	}
	if backend == "firewalld" && len(fw.Interfaces) > 0 {
		t.Errorf("networking.firewall.interfaces with firewalld: %v", fw.Interfaces)
	}
	if backend != "firewalld" && len(fw.Zones) > 0 {
		t.Errorf("firewalld zones with the %s firewall: %v", backend, fw.Zones)
	}
}

// zonesOf returns the firewalld zones the module made (nixos-fw-default is
// nixpkgs').
func zonesOf(r moduleResult) map[string]zone {
	out := map[string]zone{}
	for n, z := range r.Firewall.Zones {
		if strings.HasPrefix(n, "eosc-") {
			out[n] = z
		}
	}
	return out
}

// wantOpenOn: ports are open on that interface only, in the backend's form.
func wantOpenOn(t *testing.T, r moduleResult, backend, iface string, ports ...int) {
	t.Helper()
	if backend != "firewalld" {
		got := r.Firewall.Interfaces[iface]
		for _, p := range ports {
			if !slices.Contains(got, p) {
				t.Errorf("interface %s opens %v, want %d", iface, got, p)
			}
		}
		return
	}
	z, ok := r.Firewall.Zones["eosc-"+iface]
	if !ok {
		t.Fatalf("no firewalld zone for %s: %v", iface, r.Firewall.Zones)
	}
	if !slices.Equal(z.Interfaces, []string{iface}) || z.Target != "DROP" {
		t.Errorf("zone eosc-%s: interfaces %v target %q, want [%s] DROP", iface, z.Interfaces, z.Target, iface)
	}
	for _, p := range ports {
		if !slices.Contains(z.Ports, fmt.Sprintf("%d/tcp", p)) {
			t.Errorf("zone eosc-%s ports %v lack %d/tcp", iface, z.Ports, p)
		}
	}
}

// wantSourceRule: TCP port from source on iface only, in the backend's form.
func wantSourceRule(t *testing.T, r moduleResult, backend string, port int, source, iface string) {
	t.Helper()
	switch backend {
	case "iptables":
		wantContains(t, "extraCommands", r.Firewall.ExtraCommands,
			fmt.Sprintf("iptables -w -A nixos-fw -p tcp --dport %d -s %s -i %s -j nixos-fw-accept", port, source, iface))
	case "nftables":
		wantContains(t, "extraInputRules", r.Firewall.ExtraInputRules,
			fmt.Sprintf(`iifname { "%s" } ip saddr { %s } tcp dport %d accept`, iface, source, port))
	case "firewalld":
		z, ok := r.Firewall.Zones["eosc-"+iface]
		if !ok {
			t.Fatalf("no firewalld zone for %s: %v", iface, r.Firewall.Zones)
		}
		want := fmt.Sprintf(`{"@family":"ipv4","accept":"","port":{"@port":"%d","@protocol":"tcp"},"source":{"@address":"%s"}}`, port, source)
		for _, rule := range z.Rules {
			if b, _ := json.Marshal(rule); string(b) == want {
				return
			}
		}
		t.Errorf("zone eosc-%s rules %v lack %s", iface, z.Rules, want)
	}
}

// wantProxy: nginx with TLS and the HTTP redirect, the upstream block of the
// API hosts, the API under prefix with X-Script-Name and the X-Forwarded-*
// headers of recommendedProxySettings.
func wantProxy(t *testing.T, r moduleResult, servers []string, prefix string) {
	t.Helper()
	n := r.Nginx
	if !n.Enable || !n.RecommendedProxySettings || !n.RecommendedTLSSettings {
		t.Fatalf("nginx enable %v, recommendedProxySettings %v, recommendedTlsSettings %v: want all", n.Enable, n.RecommendedProxySettings, n.RecommendedTLSSettings)
	}
	up, ok := n.Upstreams["eosc-perf-api"]
	if !ok {
		t.Fatalf("no upstream eosc-perf-api: %v", n.Upstreams)
	}
	var got []string
	for s, params := range up.Servers {
		got = append(got, s)
		if fmt.Sprint(params["max_fails"]) != "3" || params["fail_timeout"] != "10s" {
			t.Errorf("upstream server %s parameters %v, want max_fails 3, fail_timeout 10s", s, params)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, servers) {
		t.Errorf("upstream servers %v, want %v", got, servers)
	}
	vh, ok := n.VirtualHosts["perf.example.org"]
	if !ok {
		t.Fatalf("no virtual host perf.example.org: %v", n.VirtualHosts)
	}
	if !vh.ForceSSL {
		t.Error("the virtual host does not force HTTPS (HTTP → HTTPS redirect)")
	}
	loc, ok := vh.Locations[prefix+"/"]
	if prefix == "" {
		loc, ok = vh.Locations["/"]
	}
	if !ok || loc.ProxyPass == nil {
		t.Fatalf("no proxied location for prefix %q: %v", prefix, vh.Locations)
	}
	if prefix != "" {
		if *loc.ProxyPass != "http://eosc-perf-api/" {
			t.Errorf("proxyPass %q, want http://eosc-perf-api/ (the prefix stripped)", *loc.ProxyPass)
		}
		wantContains(t, "API location", loc.ExtraConfig, "proxy_set_header X-Script-Name "+prefix+";")
	}
	wantContains(t, "API location", loc.ExtraConfig, "proxy_next_upstream error timeout http_502 http_503 http_504;")
	// recommendedProxySettings' http-level `Connection ""` does not reach a
	// location with headers of its own.
	wantContains(t, "API location", loc.ExtraConfig, `proxy_set_header Connection "";`)
}
