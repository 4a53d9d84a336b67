package nixeval

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// moduleResult is what nix/tests/eval-harness.nix returns.
type moduleResult struct {
	FailedAssertions []string `json:"failedAssertions"`
	Warnings         []string `json:"warnings"`
	Firewall         struct {
		AllowedTCPPorts []int            `json:"allowedTCPPorts"`
		Interfaces      map[string][]int `json:"interfaces"`
		ExtraInputRules string           `json:"extraInputRules"`
		ExtraCommands   string           `json:"extraCommands"`
		Backend         string           `json:"backend"`
		Zones           map[string]zone  `json:"zones"`
	} `json:"firewall"`
	Nginx struct {
		Enable                   bool `json:"enable"`
		RecommendedProxySettings bool `json:"recommendedProxySettings"`
		RecommendedTLSSettings   bool `json:"recommendedTlsSettings"`
		Upstreams                map[string]struct {
			Servers     map[string]map[string]any `json:"servers"`
			ExtraConfig string                    `json:"extraConfig"`
		} `json:"upstreams"`
		VirtualHosts map[string]struct {
			ForceSSL          bool                `json:"forceSSL"`
			EnableACME        bool                `json:"enableACME"`
			ListenAddresses   []string            `json:"listenAddresses"`
			SSLCertificate    *string             `json:"sslCertificate"`
			SSLCertificateKey *string             `json:"sslCertificateKey"`
			Locations         map[string]location `json:"locations"`
		} `json:"virtualHosts"`
		ACMECerts []string `json:"acmeCerts"`
	} `json:"nginx"`
	PostgreSQL struct {
		Enable          bool     `json:"enable"`
		Package         string   `json:"package"`
		DataDir         string   `json:"dataDir"`
		ListenAddresses string   `json:"listenAddresses"`
		Port            int      `json:"port"`
		Authentication  string   `json:"authentication"`
		IdentMap        string   `json:"identMap"`
		EnsureDatabases []string `json:"ensureDatabases"`
		EnsureUsers     []struct {
			Name              string `json:"name"`
			EnsureDBOwnership bool   `json:"ensureDBOwnership"`
		} `json:"ensureUsers"`
	} `json:"postgresql"`
	Tmpfiles []string        `json:"tmpfiles"`
	Units    map[string]unit `json:"units"`
}

type zone struct {
	Interfaces []string         `json:"interfaces"`
	Target     string           `json:"target"`
	Ports      []string         `json:"ports"`
	Rules      []map[string]any `json:"rules"`
}

type location struct {
	ProxyPass   *string `json:"proxyPass"`
	TryFiles    *string `json:"tryFiles"`
	Root        *string `json:"root"`
	Return      *string `json:"return"`
	ExtraConfig string  `json:"extraConfig"`
}

type unit struct {
	StartAt       any               `json:"startAt"`
	Path          []string          `json:"path"`
	Requires      []string          `json:"requires"`
	After         []string          `json:"after"`
	Environment   map[string]string `json:"environment"`
	ServiceConfig map[string]any    `json:"serviceConfig"`
	Script        string            `json:"script"`
}

// credentials returns the unit's LoadCredential entries.
func (u unit) credentials() []string {
	var out []string
	list, _ := u.ServiceConfig["LoadCredential"].([]any)
	for _, c := range list {
		s, _ := c.(string)
		out = append(out, s)
	}
	return out
}

// evalModule evaluates the module with configuration, a Nix attribute set.
func evalModule(t *testing.T, libDir, configuration string) moduleResult {
	t.Helper()
	var r moduleResult
	evalJSON(t, libDir, `import (repo + "/nix/tests/eval-harness.nix") { inherit lib; configuration = `+
		configuration+`; }`, &r)
	return r
}

// Configurations shared by the cases below. Addresses are those of the
// topology test: frontend-net 198.18.1.0/24, backend-net 198.18.2.0/24.
const (
	productionSecrets = `secretKeyFile = "/run/secrets/eosc-perf/secret-key";
		adminEntitlements = [ "urn:example:eosc-perf:admin" ];`
	apiFrontend = `listenAddress = "198.18.1.1"; frontendInterfaces = [ "eth1" ];`
	remoteDB    = `database = { createLocally = false; host = "198.18.2.3"; passwordFile = "/run/secrets/eosc-perf/db-password"; };`
	dbServer    = `databaseServer = { enable = true; listenAddresses = [ "198.18.2.3" ]; interfaces = [ "eth1" ]; apiAddresses = [ "198.18.2.1" ]; };
		database.passwordFile = "/run/secrets/eosc-perf/db-password"; database.manageServer = true;`
)

func TestModuleEvaluation(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of nix/module.nix")
	cases := []struct {
		name   string
		config string
		check  func(t *testing.T, r moduleResult)
	}{
		{
			name:   "production API with a local database: 5000 on frontend-net only, peer authentication on the socket",
			config: `{ services.eosc-perf = { enable = true; database.manageServer = true; ` + apiFrontend + productionSecrets + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
				wantInterfaces(t, r, map[string][]int{"eth1": {5000}})
				wantPostgreSQL(t, r, "localhost", "/data")
				wantFirstHBALine(t, r, "local eosc_perf eosc_perf peer map=eosc-perf")
				wantContains(t, "identMap", r.PostgreSQL.IdentMap, "eosc-perf eosc-perf eosc_perf")
				api := wantUnit(t, r, "eosc-perf")
				wantEnv(t, api, map[string]string{
					"FLASK_ENV": "production", "LISTEN_ADDR": "198.18.1.1:5000", "DB_HOST": "/run/postgresql",
					"DB_PORT": "5432", "DB_NAME": "eosc_perf", "DB_USER": "eosc_perf",
					"SECRET_KEY_FILE": "%d/secret_key", "DB_PASSWORD_FILE": "%d/db_password",
					"ADMIN_ENTITLEMENTS": "urn:example:eosc-perf:admin",
				})
				wantCredential(t, api, "secret_key:/run/secrets/eosc-perf/secret-key")
				wantCredentialPrefix(t, api, "db_password:/nix/store/") // the peer-authentication placeholder
				wantListed(t, "requires", api.Requires, "postgresql.target")
				wantListed(t, "after", api.After, "postgresql.target")
			},
		},
		{
			name:   "production API with a remote database: no PostgreSQL here, the password as a credential",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + remoteDB + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantInterfaces(t, r, map[string][]int{"eth1": {5000}})
				if r.PostgreSQL.Enable {
					t.Error("PostgreSQL is enabled on an API host with a remote database")
				}
				api := wantUnit(t, r, "eosc-perf")
				wantEnv(t, api, map[string]string{"DB_HOST": "198.18.2.3", "DB_PASSWORD_FILE": "%d/db_password"})
				wantCredential(t, api, "db_password:/run/secrets/eosc-perf/db-password")
				if slices.Contains(api.Requires, "postgresql.target") {
					t.Error("the API requires a local postgresql.target")
				}
			},
		},
		{
			name:   "production database host with nftables: backend address only, API host only",
			config: `{ networking.nftables.enable = true; services.eosc-perf = { ` + dbServer + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPostgreSQL(t, r, "198.18.2.3", "/data")
				wantFirstHBALine(t, r, "host eosc_perf eosc_perf 198.18.2.1/32 scram-sha-256")
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
				wantInterfaces(t, r, map[string][]int{})
				wantContains(t, "extraInputRules", r.Firewall.ExtraInputRules,
					`iifname { "eth1" } ip saddr { 198.18.2.1/32 } tcp dport 5432 accept`)
				if r.Firewall.ExtraCommands != "" {
					t.Errorf("iptables commands with the nftables firewall: %q", r.Firewall.ExtraCommands)
				}
				if _, ok := r.Units["eosc-perf"]; ok {
					t.Error("the database host runs the API")
				}
				wantListed(t, "postgresql after", wantUnit(t, r, "postgresql").After, "network-online.target")
				setup := wantUnit(t, r, "postgresql-setup")
				wantCredential(t, setup, "eosc-perf-db-password:/run/secrets/eosc-perf/db-password")
				// Defect 5: the verifier, never the password, goes to PostgreSQL.
				wantContains(t, "postgresql-setup script", setup.Script,
					`\set verifier `+"`"+`/nix/store/00000000000000000000000000000000-eosc-perf-api/bin/eosc-perf-api scram-verifier --password-file "$CREDENTIALS_DIRECTORY/eosc-perf-db-password"`+"`")
				wantContains(t, "postgresql-setup script", setup.Script, `ALTER ROLE "eosc_perf" WITH LOGIN PASSWORD :'verifier';`)
				if strings.Contains(setup.Script, "cat ") {
					t.Errorf("the setup script reads the password itself:\n%s", setup.Script)
				}
			},
		},
		{
			name:   "production database host with iptables: the same rule as iptables commands",
			config: `{ services.eosc-perf = { ` + dbServer + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantContains(t, "extraCommands", r.Firewall.ExtraCommands,
					"iptables -w -A nixos-fw -p tcp --dport 5432 -s 198.18.2.1/32 -i eth1 -j nixos-fw-accept")
				if r.Firewall.ExtraInputRules != "" {
					t.Errorf("nftables rules with the iptables firewall: %q", r.Firewall.ExtraInputRules)
				}
			},
		},
		{
			name:   "the volume is any data directory, created for postgres with mode 0700",
			config: `{ services.eosc-perf = { ` + dbServer + ` dataDir = "/srv/volume/postgresql"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantPostgreSQL(t, r, "198.18.2.3", "/srv/volume/postgresql")
			},
		},
		{
			// Defect 4: development opened 5000 and 5432 everywhere, with the
			// published development password.
			name:   "development API with a local database: loopback only, nothing opened, no TCP role",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; database.manageServer = true; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
				wantInterfaces(t, r, map[string][]int{})
				wantPostgreSQL(t, r, "localhost", "/data")
				if strings.Contains(r.PostgreSQL.Authentication, "host eosc_perf") {
					t.Errorf("a TCP pg_hba line for the role in development:\n%s", r.PostgreSQL.Authentication)
				}
				api := wantUnit(t, r, "eosc-perf")
				wantEnv(t, api, map[string]string{"FLASK_ENV": "development", "LISTEN_ADDR": "127.0.0.1:5000"})
				if _, ok := api.Environment["SECRET_KEY_FILE"]; ok {
					t.Error("SECRET_KEY_FILE set without secretKeyFile")
				}
				if setup, ok := r.Units["postgresql-setup"]; ok && len(setup.credentials()) > 0 {
					t.Errorf("a role password for a peer-authenticated local API: %q", setup.credentials())
				}
			},
		},
		{
			name:   "development API with openFirewall: every address, 5000 open",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; openFirewall = true; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts, 5000)
				wantEnv(t, wantUnit(t, r, "eosc-perf"), map[string]string{"LISTEN_ADDR": ":5000"})
			},
		},
		{
			name:   "development database host: loopback and closed unless openFirewall",
			config: `{ services.eosc-perf = { environment = "development"; databaseServer.enable = true; database.manageServer = true; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts)
				wantPostgreSQL(t, r, "localhost", "/data")
				wantFirstHBALine(t, r, "host eosc_perf eosc_perf all scram-sha-256")
			},
		},
		{
			name:   "development database host with openFirewall: every address, the port open",
			config: `{ services.eosc-perf = { environment = "development"; openFirewall = true; databaseServer.enable = true; database.manageServer = true; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantPorts(t, "global", r.Firewall.AllowedTCPPorts, 5432)
				wantPostgreSQL(t, r, "*", "/data")
			},
		},
		{
			name:   "production API without secret key and entitlements is refused",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "production needs secretKeyFile")
				wantFailedAssertion(t, r, "production needs adminEntitlements")
			},
		},
		{
			// Defect 6: DB_HOST silently became /run/postgresql.
			name:   "a remote database without database.host is refused, saying what to set",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + productionSecrets + ` database = { createLocally = false; passwordFile = "/run/secrets/p"; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "database.createLocally is false, so set database.host")
			},
		},
		{
			// Defect 6: production without frontendInterfaces left 5000 closed without a word.
			name:   "production API whose port no rule opens is warned about",
			config: `{ services.eosc-perf = { enable = true; ` + productionSecrets + remoteDB + ` }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantWarning(t, r, "no firewall rule opens port 5000")
				wantWarning(t, r, "services.eosc-perf.frontendInterfaces")
			},
		},
		{
			name:   "production API with a remote database but no password is refused",
			config: `{ services.eosc-perf = { enable = true; ` + productionSecrets + ` database.createLocally = false; database.host = "198.18.2.3"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "production with a remote database needs database.passwordFile")
			},
		},
		{
			name:   "production database host without addresses or password is refused",
			config: `{ services.eosc-perf.databaseServer.enable = true; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "production needs listenAddresses")
				wantFailedAssertion(t, r, "production needs apiAddresses")
				wantFailedAssertion(t, r, "production needs database.passwordFile")
			},
		},
		{
			name: "secrets, module-managed names and unknown names in settings are refused",
			config: `{ services.eosc-perf = { enable = true; environment = "development";
				settings = { SECRET_KEY = "in-the-store"; DB_PASSWORD_FILE = "/x"; DB_HOST = "h"; NO_SUCH_SETTING = "1"; LOG_LEVEL = "loud"; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "DB_HOST, DB_PASSWORD_FILE, SECRET_KEY must be set through the module's own options")
				wantFailedAssertion(t, r, "unknown setting(s) NO_SUCH_SETTING")
				wantFailedAssertion(t, r, "invalid value for LOG_LEVEL")
			},
		},
		{
			name:   "a secret file in the Nix store is refused",
			config: `{ services.eosc-perf = { enable = true; ` + apiFrontend + ` adminEntitlements = [ ]; secretKeyFile = "/nix/store/00000000000000000000000000000000-key"; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantFailedAssertion(t, r, "must not be in the Nix store")
			},
		},
		{
			name:   "settings reach the unit as strings, lists joined with commas",
			config: `{ services.eosc-perf = { enable = true; environment = "development"; settings = { TRUSTED_OP_LIST = [ "https://a" "https://b" ]; MAIL_PORT = 2525; LOG_LEVEL = "debug"; }; }; }`,
			check: func(t *testing.T, r moduleResult) {
				wantNoFailedAssertions(t, r)
				wantEnv(t, wantUnit(t, r, "eosc-perf"), map[string]string{
					"TRUSTED_OP_LIST": "https://a,https://b", "MAIL_PORT": "2525", "LOG_LEVEL": "debug",
				})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := evalModule(t, libDir, tc.config)
			tc.check(t, r)
			// A configuration with failed assertions is never built.
			if api, ok := r.Units["eosc-perf"]; ok && len(r.FailedAssertions) == 0 {
				wantHardenedNoSecretValues(t, api)
			}
		})
	}
}

// wantHardenedNoSecretValues holds for every API unit: secrets only as
// credential paths, never as values, and the service confined.
func wantHardenedNoSecretValues(t *testing.T, api unit) {
	t.Helper()
	for _, name := range []string{"SECRET_KEY", "DB_PASSWORD"} {
		if _, ok := api.Environment[name]; ok {
			t.Errorf("the unit's environment holds %s", name)
		}
		if v, ok := api.Environment[name+"_FILE"]; ok && !strings.HasPrefix(v, "%d/") {
			t.Errorf("%s_FILE = %q, want a path in the credentials directory (%%d/…)", name, v)
		}
	}
	for key, want := range map[string]any{
		"Restart": "always", "DynamicUser": true, "NoNewPrivileges": true, "ProtectSystem": "strict",
		"PrivateTmp": true, "ProtectHome": true, "MemoryDenyWriteExecute": true, "User": "eosc-perf",
	} {
		if got := api.ServiceConfig[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("serviceConfig.%s = %v, want %v", key, got, want)
		}
	}
	if exec, _ := api.ServiceConfig["ExecStart"].(string); !strings.HasSuffix(exec, "/bin/eosc-perf-api serve") {
		t.Errorf("ExecStart = %q, want …/bin/eosc-perf-api serve", exec)
	}
}
