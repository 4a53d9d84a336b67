package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
)

// lookupMap turns a map into a LookupEnv.
func lookupMap(m map[string]string) LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// prodSettingsEnv is a minimal valid production environment plus overrides; an
// override "-NAME" removes NAME.
func prodSettingsEnv(overrides map[string]string) map[string]string {
	m := map[string]string{
		"SECRET_KEY": "s3cret", "DB_USER": "perf", "DB_PASSWORD": "pa55", "DB_HOST": "db",
		"DB_PORT": "5432", "DB_NAME": "perf", "ADMIN_ENTITLEMENTS": "urn:admin",
	}
	for k, v := range overrides {
		if name, ok := strings.CutPrefix(k, "-"); ok {
			delete(m, name)
			continue
		}
		m[k] = v
	}
	return m
}

// writeSettingsFile writes content to a new file in a temporary directory.
func writeSettingsFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// settingsProblems splits the error of LoadSettings into its problems.
func settingsProblems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestLoadSettingsRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent")
	emptyFile := writeSettingsFile(t, "empty", "\n\n")
	notPEM := writeSettingsFile(t, "ca.pem", "not a certificate\n")
	tests := []struct {
		name   string
		env    map[string]string
		dotenv string // content of .env, "" = no file
		want   []string
		exact  bool // want is the whole list of problems
	}{
		{
			name: "empty production environment names every required variable", env: map[string]string{}, exact: true,
			want: []string{
				`Environment variable "SECRET_KEY" not set`, `Environment variable "DB_USER" not set`,
				`Environment variable "DB_PASSWORD" not set`, `Environment variable "DB_HOST" not set`,
				`Environment variable "DB_PORT" not set`, `Environment variable "DB_NAME" not set`,
				`Environment variable "ADMIN_ENTITLEMENTS" not set`,
			},
		},
		{name: "empty SECRET_KEY is refused with upstream's text", env: prodSettingsEnv(map[string]string{"SECRET_KEY": ""}), exact: true,
			want: []string{`Environment variable 'SECRET_KEY' empty`}},
		{name: "empty DB_PASSWORD is refused in development too", env: map[string]string{"FLASK_ENV": "development", "DB_PASSWORD": ""}, exact: true,
			want: []string{`Environment variable 'DB_PASSWORD' empty`}},
		{name: "empty secret file is refused", env: prodSettingsEnv(map[string]string{"DB_PASSWORD_FILE": emptyFile}), exact: true,
			want: []string{`Environment variable 'DB_PASSWORD' empty (the file named by DB_PASSWORD_FILE is empty)`}},
		{name: "unreadable secret file names variable and path", env: prodSettingsEnv(map[string]string{"SECRET_KEY_FILE": missing}), exact: true,
			want: []string{`SECRET_KEY_FILE: cannot read "` + missing + `": no such file or directory`}},
		{name: "unknown FLASK_ENV is refused without guessing required variables", env: map[string]string{"FLASK_ENV": "staging"}, exact: true,
			want: []string{"FLASK_ENV must be one of: production, development"}},
		{name: "empty FLASK_ENV is refused as upstream did", env: prodSettingsEnv(map[string]string{"FLASK_ENV": ""}), exact: true,
			want: []string{"FLASK_ENV must be one of: production, development"}},
		{name: "unknown FLASK_ENV still reports bad values", env: map[string]string{"FLASK_ENV": "prod", "DB_PORT": "x"}, exact: true,
			want: []string{"FLASK_ENV must be one of: production, development", `DB_PORT: must be a port number (1-65535), got "x"`}},
		{
			name: "every type error is reported at once",
			env: prodSettingsEnv(map[string]string{
				"DB_PORT": "70000", "MAIL_PORT": "smtp", "LOG_LEVEL": "verbose", "BENCHMARK_IMAGE_CHECK": "maybe",
				"LISTEN_ADDR": "5000", "DB_CONN_MAX_LIFETIME": "10", "OIDC_TIMEOUT": "0s", "SHUTDOWN_TIMEOUT": "-1s",
				"MAX_BODY_BYTES": "0", "DB_SSLMODE": "on", "DB_MAX_OPEN_CONNS": "0", "BCRYPT_LOG_ROUNDS": "twelve",
			}),
			exact: true,
			want: []string{
				`DB_PORT: must be a port number (1-65535), got "70000"`,
				`DB_SSLMODE: must be one of disable, allow, prefer, require, verify-ca, verify-full, got "on"`,
				`DB_MAX_OPEN_CONNS: must be between 1 and 1048576, got 0`,
				`DB_CONN_MAX_LIFETIME: must be a Go duration such as 30s or 5m, got "10"`,
				`OIDC_TIMEOUT: must be at least 1ms, got 0s`,
				`MAIL_PORT: must be an integer, got "smtp"`,
				`BCRYPT_LOG_ROUNDS: must be an integer, got "twelve"`,
				`LISTEN_ADDR: must be host:port such as :5000 or 127.0.0.1:5000, got "5000"`,
				`LOG_LEVEL: must be one of debug, info, warn, error, got "verbose"`,
				`BENCHMARK_IMAGE_CHECK: must be one of registry, off, got "maybe"`,
				`SHUTDOWN_TIMEOUT: must be at least 1ms, got -1s`,
				`MAX_BODY_BYTES: must be between 1 and 1099511627776, got 0`,
			},
		},
		{name: "issuer that is not a URL is refused", env: prodSettingsEnv(map[string]string{"TRUSTED_OP_LIST": "https://op.example, op.example"}),
			want: []string{`TRUSTED_OP_LIST: "op.example" is not an absolute http(s) URL`}},
		{name: "CORS origin with a path is refused", env: prodSettingsEnv(map[string]string{"CORS_ORIGINS": "https://a.example/"}),
			want: []string{`CORS_ORIGINS: "https://a.example/" is not an origin such as https://example.org or *`}},
		{name: "CORS wildcard mixed with origins is refused", env: prodSettingsEnv(map[string]string{"CORS_ORIGINS": "*, https://a.example"}),
			want: []string{"CORS_ORIGINS: * allows every origin and cannot be combined with others"}},
		{name: "metrics on the API address is refused", env: prodSettingsEnv(map[string]string{"LISTEN_ADDR": ":8080", "METRICS_ADDR": ":8080"}),
			want: []string{"METRICS_ADDR: must differ from LISTEN_ADDR (:8080), the metrics have their own listener"}},
		{name: "metrics address without port is refused", env: prodSettingsEnv(map[string]string{"METRICS_ADDR": "localhost"}),
			want: []string{`METRICS_ADDR: must be host:port such as :5000 or 127.0.0.1:5000, got "localhost"`}},
		{name: "missing CA file is refused before any network call", env: prodSettingsEnv(map[string]string{"OIDC_CA_FILE": missing}),
			want: []string{`OIDC_CA_FILE: cannot read "` + missing + `": no such file or directory`}},
		{name: "CA file without certificate is refused", env: prodSettingsEnv(map[string]string{"OIDC_CA_FILE": notPEM}),
			want: []string{`OIDC_CA_FILE: "` + notPEM + `" holds no PEM certificate`}},
		{name: "unparsable .env names the file without its content", env: map[string]string{}, dotenv: "DB_PASSWORD='hunter2\n",
			want: []string{".env: cannot parse (check its quoting)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadSettings(lookupMap(tt.env), dir)
			if err == nil {
				t.Fatal("LoadSettings succeeded, want an error")
			}
			got := settingsProblems(err)
			for i, line := range got { // the .env path is a temp dir
				got[i] = strings.TrimPrefix(line, filepath.Join(dir)+string(filepath.Separator))
			}
			if tt.exact && !slices.Equal(got, tt.want) {
				t.Fatalf("problems:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("problems:\n%s\nlack the line %q", strings.Join(got, "\n"), w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("a problem shows a secret from .env")
			}
		})
	}
}

func TestLoadSettingsAccepts(t *testing.T) {
	secretFile := writeSettingsFile(t, "secret", "from-file\n\n")
	pwFile := writeSettingsFile(t, "pw", "pw from file\n")
	defaultOPs := "https://aai.egi.eu/oidc,https://aai-demo.egi.eu/auth/realms/egi,https://aai-dev.egi.eu/auth/realms/egi"
	tests := []struct {
		name   string
		env    map[string]string
		dotenv string
		want   map[string]string // NAME → formatted value, secrets unredacted
	}{
		{
			name: "production defaults fill the optional settings", env: prodSettingsEnv(nil),
			want: map[string]string{
				"FLASK_ENV": "production", "DB_SSLMODE": "disable", "DB_MAX_OPEN_CONNS": "20", "DB_MAX_IDLE_CONNS": "",
				"DB_CONN_MAX_LIFETIME": "30m0s", "DB_WAIT_TIMEOUT": "1m0s", "TRUSTED_OP_LIST": defaultOPs,
				"OIDC_CA_FILE": "", "OIDC_TIMEOUT": "5s", "MAIL_SUPPORT": "", "MAIL_FROM": "", "MAIL_SERVER": "", "MAIL_PORT": "25",
				"BACKEND_ROUTE": "/", "BCRYPT_LOG_ROUNDS": "12", "LISTEN_ADDR": ":5000", "METRICS_ADDR": "",
				"LOG_LEVEL": "info", "CORS_ORIGINS": "", "BENCHMARK_IMAGE_CHECK": "registry",
				"SHUTDOWN_TIMEOUT": "30s", "MAX_BODY_BYTES": "8388608",
			},
		},
		{
			name: "development needs nothing and uses upstream's placeholders", env: map[string]string{"FLASK_ENV": "development"},
			want: map[string]string{
				"FLASK_ENV": "development", "SECRET_KEY": "not-so-secret", "DB_USER": "not-defined", "DB_PASSWORD": "not-so-secret",
				"DB_HOST": "not-defined", "DB_PORT": "not-defined", "DB_NAME": "not-defined", "ADMIN_ENTITLEMENTS": "",
				"TRUSTED_OP_LIST": defaultOPs, "LISTEN_ADDR": ":5000",
			},
		},
		{name: "secret file replaces the variable without trailing newlines",
			env:  prodSettingsEnv(map[string]string{"SECRET_KEY_FILE": secretFile, "DB_PASSWORD_FILE": pwFile}),
			want: map[string]string{"SECRET_KEY": "from-file", "DB_PASSWORD": "pw from file"}},
		{name: "secret file satisfies production without the variable",
			env:  prodSettingsEnv(map[string]string{"-SECRET_KEY": "", "-DB_PASSWORD": "", "SECRET_KEY_FILE": secretFile, "DB_PASSWORD_FILE": pwFile}),
			want: map[string]string{"SECRET_KEY": "from-file", "DB_PASSWORD": "pw from file"}},
		{name: "empty secret file variable falls back to the variable",
			env:  prodSettingsEnv(map[string]string{"SECRET_KEY_FILE": ""}),
			want: map[string]string{"SECRET_KEY": "s3cret"}},
		{name: "comma lists are trimmed and lose empty items",
			env:  prodSettingsEnv(map[string]string{"ADMIN_ENTITLEMENTS": " urn:a , ,urn:b,, ", "TRUSTED_OP_LIST": "https://op.example/x ,", "CORS_ORIGINS": " * "}),
			want: map[string]string{"ADMIN_ENTITLEMENTS": "urn:a,urn:b", "TRUSTED_OP_LIST": "https://op.example/x", "CORS_ORIGINS": "*"}},
		{name: "empty ADMIN_ENTITLEMENTS is an empty list in production",
			env:  prodSettingsEnv(map[string]string{"ADMIN_ENTITLEMENTS": ""}),
			want: map[string]string{"ADMIN_ENTITLEMENTS": ""}},
		{name: "every variable of ours is read",
			env: prodSettingsEnv(map[string]string{
				"DB_SSLMODE": "verify-full", "DB_MAX_OPEN_CONNS": "5", "DB_MAX_IDLE_CONNS": "0", "DB_CONN_MAX_LIFETIME": "0s",
				"DB_WAIT_TIMEOUT": "2m", "OIDC_TIMEOUT": "1500ms", "MAIL_PORT": "2525", "LISTEN_ADDR": "127.0.0.1:0",
				"METRICS_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug", "CORS_ORIGINS": "https://a.example,http://localhost:3000",
				"BENCHMARK_IMAGE_CHECK": "off", "SHUTDOWN_TIMEOUT": "5s", "MAX_BODY_BYTES": "1024", "BACKEND_ROUTE": "/api/v1",
			}),
			want: map[string]string{
				"DB_SSLMODE": "verify-full", "DB_MAX_OPEN_CONNS": "5", "DB_MAX_IDLE_CONNS": "0", "DB_CONN_MAX_LIFETIME": "0s",
				"DB_WAIT_TIMEOUT": "2m0s", "OIDC_TIMEOUT": "1.5s", "MAIL_PORT": "2525", "LISTEN_ADDR": "127.0.0.1:0",
				"METRICS_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug", "CORS_ORIGINS": "https://a.example,http://localhost:3000",
				"BENCHMARK_IMAGE_CHECK": "off", "SHUTDOWN_TIMEOUT": "5s", "MAX_BODY_BYTES": "1024", "BACKEND_ROUTE": "/api/v1",
			}},
		{name: ".env supplies what the environment lacks", env: map[string]string{},
			dotenv: "SECRET_KEY=k\nDB_USER=u\nDB_PASSWORD=\"p w\"\nDB_HOST=h\nDB_PORT=5433\nDB_NAME=n\nADMIN_ENTITLEMENTS=\n",
			want:   map[string]string{"SECRET_KEY": "k", "DB_PASSWORD": "p w", "DB_PORT": "5433", "ADMIN_ENTITLEMENTS": ""}},
		{name: "the real environment wins over .env", env: prodSettingsEnv(map[string]string{"DB_HOST": "real"}),
			dotenv: "DB_HOST=from-dotenv\nLOG_LEVEL=warn\n",
			want:   map[string]string{"DB_HOST": "real", "LOG_LEVEL": "warn"}},
		{name: ".env may choose the mode", env: map[string]string{}, dotenv: "FLASK_ENV=development\n",
			want: map[string]string{"FLASK_ENV": "development", "DB_USER": "not-defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := LoadSettings(lookupMap(tt.env), dir)
			if err != nil {
				t.Fatalf("LoadSettings: %v", err)
			}
			got := map[string]string{}
			for _, st := range settingsTable {
				got[st.name] = st.bind.format(&s)
			}
			for _, name := range slices.Sorted(maps.Keys(tt.want)) {
				if got[name] != tt.want[name] {
					t.Errorf("%s = %q, want %q", name, got[name], tt.want[name])
				}
			}
		})
	}
}

func TestLoadSettingsListsAreNeverNil(t *testing.T) {
	s, err := LoadSettings(lookupMap(prodSettingsEnv(map[string]string{"ADMIN_ENTITLEMENTS": " , "})), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.AdminEntitlements == nil || len(s.AdminEntitlements) != 0 || s.CORSOrigins == nil {
		t.Errorf("lists = %#v, %#v; want empty non-nil lists", s.AdminEntitlements, s.CORSOrigins)
	}
	if s.DBConnMaxLifetime != 30*time.Minute || s.MaxBodyBytes != 8<<20 {
		t.Errorf("typed defaults = %v, %d", s.DBConnMaxLifetime, s.MaxBodyBytes)
	}
}

func TestSettingsDSN(t *testing.T) {
	base := Settings{DBHost: "db", DBPort: "5432", DBUser: "perf", DBPassword: "pa55", DBName: "perf", DBSSLMode: "disable"}
	tests := []struct {
		name       string
		change     func(*Settings)
		host, user string
		password   string
		database   string
		sslmode    pq.SSLMode
	}{
		{name: "plain values connect as given", change: func(*Settings) {},
			host: "db", user: "perf", password: "pa55", database: "perf", sslmode: "disable"},
		{name: "spaces quotes and backslashes in values survive",
			change: func(s *Settings) { s.DBPassword = `p w'q\"x\`; s.DBName = "my db"; s.DBSSLMode = "verify-full" },
			host:   "db", user: "perf", password: `p w'q\"x\`, database: "my db", sslmode: "verify-full"},
		{name: "a socket directory is the host", change: func(s *Settings) { s.DBHost = "/run/postgresql" },
			host: "/run/postgresql", user: "perf", password: "pa55", database: "perf", sslmode: "disable"},
		{name: "an empty password is left to lib/pq", change: func(s *Settings) { s.DBPassword = "" },
			host: "db", user: "perf", password: "", database: "perf", sslmode: "disable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.change(&s)
			dsn := s.DSN()
			cfg, err := pq.NewConfig(dsn)
			if err != nil {
				t.Fatalf("pq.NewConfig(%q): %v", dsn, err)
			}
			if cfg.Host != tt.host || cfg.Port != 5432 || cfg.User != tt.user || cfg.Password != tt.password ||
				cfg.Database != tt.database || cfg.SSLMode != tt.sslmode || cfg.ConnectTimeout != dbConnectTimeout {
				t.Errorf("DSN %q parses to host=%q port=%d user=%q password=%q dbname=%q sslmode=%q connect_timeout=%v",
					dsn, cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database, cfg.SSLMode, cfg.ConnectTimeout)
			}
		})
	}
}

func TestSettingsDSNQuotesEveryValue(t *testing.T) {
	s := Settings{DBHost: "db", DBPort: "5432", DBUser: "u", DBPassword: `a'b\c`, DBName: "n", DBSSLMode: "require"}
	want := `host='db' port='5432' user='u' password='a\'b\\c' dbname='n' sslmode='require' connect_timeout='10' application_name='eosc-perf-api'`
	if got := s.DSN(); got != want {
		t.Errorf("DSN() = %s\nwant   %s", got, want)
	}
}

func TestSettingsWarnings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "production with explicit issuers and admins warns about nothing",
			env: prodSettingsEnv(map[string]string{"TRUSTED_OP_LIST": "https://aai.egi.eu/auth/realms/egi"})},
		{name: "empty admin list in production makes every user an administrator",
			env:  prodSettingsEnv(map[string]string{"ADMIN_ENTITLEMENTS": "", "TRUSTED_OP_LIST": "https://op.example"}),
			want: []string{"ADMIN_ENTITLEMENTS is empty: every registered user is an administrator"}},
		{name: "upstream default issuers warn in production",
			env:  prodSettingsEnv(nil),
			want: []string{"TRUSTED_OP_LIST is the upstream default, which lacks the current EGI Check-in issuer https://aai.egi.eu/auth/realms/egi"}},
		{name: "mail server without sender warns",
			env:  prodSettingsEnv(map[string]string{"TRUSTED_OP_LIST": "https://op.example", "MAIL_SERVER": "smtp.example"}),
			want: []string{"MAIL_SERVER is set but MAIL_FROM is empty: SMTP servers usually reject mail without a sender"}},
		{name: "more idle than open connections warns",
			env:  prodSettingsEnv(map[string]string{"TRUSTED_OP_LIST": "https://op.example", "DB_MAX_OPEN_CONNS": "4", "DB_MAX_IDLE_CONNS": "10"}),
			want: []string{"DB_MAX_IDLE_CONNS (10) exceeds DB_MAX_OPEN_CONNS (4): at most 4 idle connections are kept"}},
		{name: "idle connections as many as open by default",
			env: prodSettingsEnv(map[string]string{"TRUSTED_OP_LIST": "https://op.example", "DB_MAX_OPEN_CONNS": "4"})},
		{name: "development without a database warns about the placeholder only",
			env:  map[string]string{"FLASK_ENV": "development"},
			want: []string{`DB_HOST is the development placeholder "not-defined": set the DB_* variables, or use the dev subcommand, which starts its own database`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSettings(lookupMap(tt.env), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Warnings(); !slices.Equal(got, tt.want) {
				t.Errorf("Warnings() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSettingsTableDefaultsAreValid(t *testing.T) {
	for _, st := range settingsTable {
		for mode, def := range map[string]*string{ModeProduction: st.prod, ModeDevelopment: st.dev} {
			if def == nil || (st.name == "DB_PORT" && *def == devPlaceholder) {
				continue
			}
			var s Settings
			if err := st.bind.parse(&s, *def); err != nil {
				t.Errorf("%s default %q of %s does not parse: %v", st.name, *def, mode, err)
			}
			if len(st.enum) > 0 && !slices.Contains(st.enum, *def) {
				t.Errorf("%s default %q of %s is not one of %q", st.name, *def, mode, st.enum)
			}
		}
	}
}

func TestLoadSettingsAcceptsCAFile(t *testing.T) {
	good := writeSettingsFile(t, "ca.pem", selfSignedCAPEM(t))
	s, err := LoadSettings(lookupMap(prodSettingsEnv(map[string]string{"OIDC_CA_FILE": good})), "")
	if err != nil || s.OIDCCAFile != good {
		t.Errorf("LoadSettings with a CA file: %q, %v", s.OIDCCAFile, err)
	}
}

// selfSignedCAPEM returns a fresh self-signed CA certificate in PEM form.
func selfSignedCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestMaxIdleConnsDefaultsToOpen(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 20},
		{map[string]string{"DB_MAX_OPEN_CONNS": "7"}, 7},
		{map[string]string{"DB_MAX_OPEN_CONNS": "7", "DB_MAX_IDLE_CONNS": "0"}, 0},
		{map[string]string{"DB_MAX_OPEN_CONNS": "7", "DB_MAX_IDLE_CONNS": "3"}, 3},
	} {
		s, err := LoadSettings(lookupMap(prodSettingsEnv(c.env)), "")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.MaxIdleConns(); got != c.want {
			t.Errorf("%v: MaxIdleConns %d, want %d", c.env, got, c.want)
		}
	}
}
