// Package app is the composition root of eosc-perf-api: settings, logger,
// database, migrations, authentication and the HTTP server, and the
// subcommands of the command line. Nothing here reads the process
// environment directly: Run is given a lookup function.
package app

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// LookupEnv is how the program reads its environment (os.LookupEnv in main,
// a map in tests). The boolean tells a variable set to "" from an unset one.
type LookupEnv func(name string) (string, bool)

// Settings is the whole configuration, read once by LoadSettings.
type Settings struct {
	Mode string // FLASK_ENV: "production" (default) or "development"

	SecretKey string // SECRET_KEY / SECRET_KEY_FILE (unused, kept for compatibility)

	DBUser, DBPassword, DBHost, DBPort, DBName string
	DBSSLMode                                  string        // DB_SSLMODE (lib/pq sslmode)
	DBMaxOpenConns, DBMaxIdleConns             int           // DB_MAX_OPEN_CONNS, DB_MAX_IDLE_CONNS (-1: as many as open; see MaxIdleConns)
	DBConnMaxLifetime                          time.Duration // DB_CONN_MAX_LIFETIME
	DBWaitTimeout                              time.Duration // DB_WAIT_TIMEOUT: how long serve waits for PostgreSQL at start

	TrustedOPs        []string      // TRUSTED_OP_LIST
	AdminEntitlements []string      // ADMIN_ENTITLEMENTS
	OIDCCAFile        string        // OIDC_CA_FILE: extra PEM CAs for calls to the OpenID providers
	OIDCTimeout       time.Duration // OIDC_TIMEOUT: each outbound call to a provider

	MailSupport, MailFrom, MailServer string // MAIL_SUPPORT, MAIL_FROM, MAIL_SERVER
	MailPort                          int    // MAIL_PORT

	BackendRoute    string // BACKEND_ROUTE
	BcryptLogRounds int    // BCRYPT_LOG_ROUNDS (read, unused)

	ListenAddr          string   // LISTEN_ADDR
	MetricsAddr         string   // METRICS_ADDR ("" = no metrics listener)
	LogLevel            string   // LOG_LEVEL
	CORSOrigins         []string // CORS_ORIGINS ("" = no CORS headers)
	BenchmarkImageCheck string   // BENCHMARK_IMAGE_CHECK: "registry" or "off"
	RegistryCAFile      string   // REGISTRY_CA_FILE: extra PEM CAs for calls to container registries
	// REGISTRY_PRIVATE_ADDRESSES: "deny" or "allow" non-public registry addresses
	RegistryPrivateAddresses string
	ShutdownTimeout          time.Duration // SHUTDOWN_TIMEOUT
	MaxBodyBytes             int64         // MAX_BODY_BYTES: request body limit
	ExportMaxRows            int64         // EXPORT_MAX_ROWS: most results one export may hold

	// Limits of one request (DESIGN.md §9); 0 disables one.
	MaxURLBytes        int           // MAX_URL_BYTES
	MaxHeaderBytes     int           // MAX_HEADER_BYTES
	MaxFilters         int           // MAX_FILTERS
	MaxTagIDs          int           // MAX_TAGS_IDS
	MaxSearchTerms     int           // MAX_SEARCH_TERMS
	MaxSortKeys        int           // MAX_SORT_KEYS
	MaxSchemaBytes     int           // MAX_SCHEMA_BYTES
	MaxSchemaDepth     int           // MAX_SCHEMA_DEPTH
	MaxSchemaObjects   int           // MAX_SCHEMA_OBJECTS
	MaxDocumentDepth   int           // MAX_DOCUMENT_DEPTH
	MaxDocumentKeys    int           // MAX_DOCUMENT_KEYS
	MaxTextLength      int           // MAX_TEXT_LENGTH
	MaxBodyMembers     int           // MAX_BODY_MEMBERS
	DBStatementTimeout time.Duration // DB_STATEMENT_TIMEOUT
	MaxHeavyRequests   int           // MAX_HEAVY_REQUESTS
	MaxPageBytes       int64         // MAX_PAGE_BYTES
	HeavyQueueWait     time.Duration // HEAVY_QUEUE_WAIT
	LeafIndexPercent   int           // LEAF_INDEX_CPU_PERCENT
}

// Development reports whether FLASK_ENV is development.
func (s Settings) Development() bool { return s.Mode == ModeDevelopment }

// The two modes FLASK_ENV selects.
const (
	ModeProduction  = "production"
	ModeDevelopment = "development"
)

// dbConnectTimeout bounds one connection attempt to PostgreSQL; serve retries
// attempts until DB_WAIT_TIMEOUT, so a single attempt must not eat it all.
const dbConnectTimeout = 10 * time.Second

// LoadSettings reads every setting of the table from lookup, falling back to
// a .env file in dotenvDir (when dotenvDir is not empty and the file exists;
// the real environment wins) and then to the defaults of the mode that
// FLASK_ENV selects. It reports every problem at once: the error's text holds
// one problem per line, each naming its variable, and never a secret value.
// Upstream also searched the parent directories for .env; we only look in
// dotenvDir (the working directory in main), so a stray file higher up cannot
// change the configuration.
func LoadSettings(lookup LookupEnv, dotenvDir string) (Settings, error) {
	var problems []error
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}

	dotenv := map[string]string{}
	if dotenvDir != "" {
		path := filepath.Join(dotenvDir, ".env")
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			problem("%s: %v", path, err)
		default:
			// godotenv.UnmarshalBytes is godotenv.Read without the file
			// handling; neither touches the process environment.
			if dotenv, err = godotenv.UnmarshalBytes(b); err != nil {
				// godotenv quotes the offending line, which may hold a
				// password: name the file only.
				problem("%s: cannot parse (check its quoting)", path)
				dotenv = map[string]string{}
			}
		}
	}
	get := func(name string) (string, bool) {
		if lookup != nil {
			if v, ok := lookup(name); ok {
				return v, true
			}
		}
		v, ok := dotenv[name]
		return v, ok
	}

	var s Settings
	modeKnown := true
	switch mode, ok := get("FLASK_ENV"); {
	case !ok:
		s.Mode = ModeProduction
	case mode == ModeProduction || mode == ModeDevelopment:
		s.Mode = mode
	default:
		// Without a known mode the required variables are unknown too, so
		// only the values that are set are checked (as production values).
		problem("FLASK_ENV must be one of: production, development")
		s.Mode, modeKnown = ModeProduction, false
	}

	for _, st := range settingsTable {
		if st.name == "FLASK_ENV" {
			continue
		}
		raw, explicit, err := st.read(get)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if !explicit {
			def := st.def(s.Mode)
			if def == nil {
				if modeKnown {
					problem("Environment variable %q not set", st.name)
				}
				continue
			}
			raw = *def
		}
		if st.nonEmpty && raw == "" {
			if explicit && st.fileVariant != "" && hasValue(get, st.fileVariant) {
				problem("Environment variable '%s' empty (the file named by %s is empty)", st.name, st.fileVariant)
			} else {
				problem("Environment variable '%s' empty", st.name)
			}
			continue
		}
		if err := st.bind.parse(&s, raw); err != nil && explicit {
			problem("%s: %v", st.name, err)
			continue
		}
		if explicit && len(st.enum) > 0 && !slices.Contains(st.enum, raw) {
			problem("%s: must be one of %s, got %q", st.name, strings.Join(st.enum, ", "), raw)
		}
	}

	if s.MetricsAddr != "" && s.MetricsAddr == s.ListenAddr && !strings.HasSuffix(s.ListenAddr, ":0") {
		problem("METRICS_ADDR: must differ from LISTEN_ADDR (%s), the metrics have their own listener", s.ListenAddr)
	}
	if len(s.CORSOrigins) > 1 && slices.Contains(s.CORSOrigins, "*") {
		problem("CORS_ORIGINS: * allows every origin and cannot be combined with others")
	}
	if len(problems) > 0 {
		return Settings{}, errors.Join(problems...)
	}
	return s, nil
}

// hasValue reports whether name is set to a non-empty value.
func hasValue(get LookupEnv, name string) bool {
	v, ok := get(name)
	return ok && v != ""
}

// read returns the raw value of st and whether it was set: the content of the
// file named by the _FILE variant when that is set and not empty (trailing
// newlines removed, as upstream did), else the variable itself.
func (st setting) read(get LookupEnv) (raw string, explicit bool, err error) {
	if st.fileVariant != "" {
		if path, ok := get(st.fileVariant); ok && path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				// Only the path and the reason, never what was read.
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return "", false, fmt.Errorf("%s: cannot read %q: %v", st.fileVariant, path, err)
			}
			return strings.TrimRight(string(b), "\n"), true, nil
		}
	}
	raw, explicit = get(st.name)
	return raw, explicit, nil
}

// def returns the default of st in mode, nil when the variable is required.
func (st setting) def(mode string) *string {
	if mode == ModeDevelopment {
		return st.dev
	}
	return st.prod
}

// DSN returns the lib/pq keyword/value connection string. Every value is
// single-quoted with quotes and backslashes escaped, so spaces and quotes in
// passwords survive; empty values are left out so lib/pq's defaults apply,
// as they did for the empty parts of upstream's postgresql:// URL. A DB_HOST
// that starts with "/" is a Unix socket directory, which lib/pq understands
// as host=/path.
func (s Settings) DSN() string {
	pairs := [][2]string{
		{"host", s.DBHost},
		{"port", s.DBPort},
		{"user", s.DBUser},
		{"password", s.DBPassword},
		{"dbname", s.DBName},
		{"sslmode", s.DBSSLMode},
		{"connect_timeout", fmt.Sprint(int(dbConnectTimeout / time.Second))},
		{"application_name", "eosc-perf-api"},
	}
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	var b strings.Builder
	for _, kv := range pairs {
		if kv[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s='%s'", kv[0], quote.Replace(kv[1]))
	}
	return b.String()
}

// PoolDSN is DSN with the session settings of the service's own
// connections: the statement timeout (DB_STATEMENT_TIMEOUT) and no JIT
// compilation (a query with many conditions could otherwise keep a backend
// compiling for minutes, deaf to cancellation). lib/pq sends parameters it
// does not know as run-time parameters of the session.
func (s Settings) PoolDSN() string {
	return s.DSN() + fmt.Sprintf(" statement_timeout='%d' jit='off'", s.DBStatementTimeout.Milliseconds())
}

// MaxIdleConns is DB_MAX_IDLE_CONNS, or DB_MAX_OPEN_CONNS when it is empty.
func (s Settings) MaxIdleConns() int {
	if s.DBMaxIdleConns < 0 {
		return s.DBMaxOpenConns
	}
	return s.DBMaxIdleConns
}

// Warnings lists settings that are valid but probably not what the operator
// wants; serve logs each of them at start-up.
func (s Settings) Warnings() []string {
	var w []string
	if !s.Development() && len(s.AdminEntitlements) == 0 {
		w = append(w, "ADMIN_ENTITLEMENTS is empty: every registered user is an administrator")
	}
	if !s.Development() && slices.Equal(s.TrustedOPs, defaultTrustedOPs) {
		w = append(w, "TRUSTED_OP_LIST is the upstream default, which lacks the current EGI Check-in issuer https://aai.egi.eu/auth/realms/egi")
	}
	if s.MailServer != "" && s.MailFrom == "" {
		w = append(w, "MAIL_SERVER is set but MAIL_FROM is empty: SMTP servers usually reject mail without a sender")
	}
	if s.DBMaxIdleConns >= 0 && s.DBMaxIdleConns > s.DBMaxOpenConns {
		w = append(w, fmt.Sprintf("DB_MAX_IDLE_CONNS (%d) exceeds DB_MAX_OPEN_CONNS (%d): at most %d idle connections are kept",
			s.DBMaxIdleConns, s.DBMaxOpenConns, s.DBMaxOpenConns))
	}
	if s.Development() && s.DBHost == devPlaceholder {
		w = append(w, `DB_HOST is the development placeholder "not-defined": set the DB_* variables, or use the dev subcommand, which starts its own database`)
	}
	return w
}

// addPEMFile adds the certificates of a PEM file to pool; a file without any
// certificate is an error, as it is certainly not what the operator meant.
func addPEMFile(pool *x509.CertPool, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %q: %v", path, err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("%q holds no PEM certificate", path)
	}
	return nil
}
