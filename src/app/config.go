package app

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// setting is one row of the settings table. LoadSettings, the effective view
// of `config`, `config --markdown` (the README) and `config --json` (the Nix
// module) are all derived from settingsTable, so they cannot drift apart.
type setting struct {
	name string
	typ  string   // string, int, duration, list, enum, path or bool
	enum []string // allowed values of an enum

	// prod and dev are the defaults of the two modes as raw values; a nil
	// prod makes the variable required in production.
	prod, dev *string

	nonEmpty    bool   // an empty value aborts start-up in either mode (upstream: SECRET_KEY, DB_PASSWORD)
	secret      bool   // redacted by `config`
	fileVariant string // NAME_FILE: a file whose content replaces the value
	added       bool   // not a setting of upstream 1.2.3
	doc         string // Markdown
	bind        binder
}

func val(s string) *string { return &s }

// devPlaceholder is upstream's development default of the database settings.
const devPlaceholder = "not-defined"

// defaultTrustedOPs is upstream's default TRUSTED_OP_LIST.
var defaultTrustedOPs = []string{
	"https://aai.egi.eu/oidc",
	"https://aai-demo.egi.eu/auth/realms/egi",
	"https://aai-dev.egi.eu/auth/realms/egi",
}

// settingsTable lists every setting in the order of the documentation.
var settingsTable = []setting{
	{name: "FLASK_ENV", typ: "enum", enum: []string{ModeProduction, ModeDevelopment},
		prod: val(ModeProduction), dev: val(ModeDevelopment),
		doc:  "Mode. `development` changes nothing but the defaults of the Development column (it does not bypass authentication); any other value aborts start-up.",
		bind: stringVar(func(s *Settings) *string { return &s.Mode }, nil)},
	{name: "SECRET_KEY", typ: "string", dev: val("not-so-secret"), nonEmpty: true, secret: true, fileVariant: "SECRET_KEY_FILE",
		doc:  "Upstream's Flask secret key; required for compatibility, not used.",
		bind: stringVar(func(s *Settings) *string { return &s.SecretKey }, nil)},
	{name: "DB_USER", typ: "string", dev: val(devPlaceholder),
		doc:  "PostgreSQL user.",
		bind: stringVar(func(s *Settings) *string { return &s.DBUser }, nil)},
	{name: "DB_PASSWORD", typ: "string", dev: val("not-so-secret"), nonEmpty: true, secret: true, fileVariant: "DB_PASSWORD_FILE",
		doc:  "PostgreSQL password.",
		bind: stringVar(func(s *Settings) *string { return &s.DBPassword }, nil)},
	{name: "DB_HOST", typ: "string", dev: val(devPlaceholder),
		doc:  "PostgreSQL host name or address, or the directory of its Unix socket (an absolute path such as `/run/postgresql`).",
		bind: stringVar(func(s *Settings) *string { return &s.DBHost }, nil)},
	{name: "DB_PORT", typ: "string", dev: val(devPlaceholder),
		doc:  "PostgreSQL port, 1–65535 (a string upstream, whose development placeholder is kept).",
		bind: stringVar(func(s *Settings) *string { return &s.DBPort }, checkPort)},
	{name: "DB_NAME", typ: "string", dev: val(devPlaceholder),
		doc:  "PostgreSQL database.",
		bind: stringVar(func(s *Settings) *string { return &s.DBName }, nil)},
	{name: "DB_SSLMODE", typ: "enum", enum: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
		prod: val("disable"), dev: val("disable"), added: true,
		doc:  "TLS to PostgreSQL (libpq `sslmode`). Upstream connected with a plain `postgresql://` URL, hence `disable`; use `verify-full` when the database is reached over an untrusted network. Ignored for Unix sockets.",
		bind: stringVar(func(s *Settings) *string { return &s.DBSSLMode }, nil)},
	{name: "DB_MAX_OPEN_CONNS", typ: "int", prod: val("20"), dev: val("20"), added: true,
		doc:  "Most database connections open at once (at least 1).",
		bind: intVar(func(s *Settings) *int { return &s.DBMaxOpenConns }, 1, 1<<20)},
	{name: "DB_MAX_IDLE_CONNS", typ: "int", prod: val(""), dev: val(""), added: true,
		doc:  "Most idle database connections kept for reuse (at least 0); empty: as many as `DB_MAX_OPEN_CONNS`. Fewer idle than open connections make every burst of requests close connections that the next burst opens again, each a new PostgreSQL process and SCRAM login (with 10 of 20, 16 clients reading results by id saw a p99 of 80 ms instead of 12 ms).",
		bind: optIntVar(func(s *Settings) *int { return &s.DBMaxIdleConns }, 0, 1<<20)},
	{name: "DB_CONN_MAX_LIFETIME", typ: "duration", prod: val("30m"), dev: val("30m"), added: true,
		doc:  "Age after which a database connection is replaced (Go duration; `0s` = never).",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.DBConnMaxLifetime }, 0)},
	{name: "DB_WAIT_TIMEOUT", typ: "duration", prod: val("60s"), dev: val("60s"), added: true,
		doc:  "How long `serve` and `migrate` keep trying to reach PostgreSQL at start-up, which may come up after us (Go duration; `0s` = one attempt). Only refused connections and a server starting up or shutting down are retried; a missing database, wrong password or missing privilege stop at once.",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.DBWaitTimeout }, 0)},
	{name: "TRUSTED_OP_LIST", typ: "list",
		prod: val(strings.Join(defaultTrustedOPs, ",")), dev: val(strings.Join(defaultTrustedOPs, ",")),
		doc:  "Comma-separated issuer URLs of the trusted OpenID providers, written exactly as their `iss` claim (no trailing slash). The default lacks the current EGI Check-in issuer `https://aai.egi.eu/auth/realms/egi`: set it explicitly.",
		bind: listVar(func(s *Settings) *[]string { return &s.TrustedOPs }, checkIssuer)},
	{name: "ADMIN_ENTITLEMENTS", typ: "list", dev: val(""),
		doc:  "Comma-separated entitlements (`eduperson_entitlement` values) that make a registered user an administrator. Required in production but may be set empty: then **every registered user is an administrator** (upstream's rule; a warning is logged).",
		bind: listVar(func(s *Settings) *[]string { return &s.AdminEntitlements }, nil)},
	{name: "OIDC_CA_FILE", typ: "path", prod: val(""), dev: val(""), added: true,
		doc:  "PEM file of CA certificates trusted, besides the system roots, for the HTTPS calls to the OpenID providers; empty = system roots only.",
		bind: stringVar(func(s *Settings) *string { return &s.OIDCCAFile }, checkCAFile)},
	{name: "OIDC_TIMEOUT", typ: "duration", prod: val("5s"), dev: val("5s"), added: true,
		doc:  "Timeout of each call to an OpenID provider (discovery, keys, userinfo); Go duration.",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.OIDCTimeout }, time.Millisecond)},
	{name: "MAIL_SUPPORT", typ: "string", prod: val(""), dev: val(""),
		doc:  "E-mail address in copy of the review notifications.",
		bind: stringVar(func(s *Settings) *string { return &s.MailSupport }, nil)},
	{name: "MAIL_FROM", typ: "string", prod: val(""), dev: val(""),
		doc:  "Sender address of the notifications.",
		bind: stringVar(func(s *Settings) *string { return &s.MailFrom }, nil)},
	{name: "MAIL_SERVER", typ: "string", prod: val(""), dev: val(""),
		doc:  "SMTP host (plain SMTP, no authentication); empty = notifications go to the log instead.",
		bind: stringVar(func(s *Settings) *string { return &s.MailServer }, nil)},
	{name: "MAIL_PORT", typ: "int", prod: val("25"), dev: val("25"),
		doc:  "SMTP port.",
		bind: intVar(func(s *Settings) *int { return &s.MailPort }, 1, 65535)},
	{name: "BACKEND_ROUTE", typ: "string", prod: val("/"), dev: val("/"),
		doc:  "Base URL of the API as published behind a proxy; only used as `servers[0].url` of the served OpenAPI document.",
		bind: stringVar(func(s *Settings) *string { return &s.BackendRoute }, nil)},
	{name: "BCRYPT_LOG_ROUNDS", typ: "int", prod: val("12"), dev: val("12"),
		doc:  "Read for compatibility (must be an integer), not used.",
		bind: intVar(func(s *Settings) *int { return &s.BcryptLogRounds }, -1<<31, 1<<31-1)},
	{name: "LISTEN_ADDR", typ: "string", prod: val(":5000"), dev: val(":5000"), added: true,
		doc:  "`host:port` the API listens on; an empty host means every interface.",
		bind: stringVar(func(s *Settings) *string { return &s.ListenAddr }, checkHostPort)},
	{name: "METRICS_ADDR", typ: "string", prod: val(""), dev: val(""), added: true,
		doc:  "`host:port` of a separate listener for the Prometheus metrics; empty = no metrics.",
		bind: stringVar(func(s *Settings) *string { return &s.MetricsAddr }, checkOptionalHostPort)},
	{name: "LOG_LEVEL", typ: "enum", enum: []string{"debug", "info", "warn", "error"},
		prod: val("info"), dev: val("info"), added: true,
		doc:  "Least severe level logged (JSON lines in production, console output in development).",
		bind: stringVar(func(s *Settings) *string { return &s.LogLevel }, nil)},
	{name: "CORS_ORIGINS", typ: "list", prod: val(""), dev: val(""), added: true,
		doc:  "Comma-separated origins (`https://host[:port]`) whose browser pages may call the API, or `*` for any; empty = no CORS headers, as upstream.",
		bind: listVar(func(s *Settings) *[]string { return &s.CORSOrigins }, checkOrigin)},
	{name: "BENCHMARK_IMAGE_CHECK", typ: "enum", enum: []string{"registry", "off"},
		prod: val("registry"), dev: val("registry"), added: true,
		doc:  "`registry`: a submitted benchmark's image and tag must exist in its container registry, as upstream checked; `off`: no check (offline installations, tests).",
		bind: stringVar(func(s *Settings) *string { return &s.BenchmarkImageCheck }, nil)},
	{name: "REGISTRY_PRIVATE_ADDRESSES", typ: "enum", enum: []string{"deny", "allow"},
		prod: val("deny"), dev: val("deny"), added: true,
		doc:  "`deny`: the image check never connects to loopback, private, link-local or other non-public addresses, so that users cannot make the service probe its own network; `allow`: for a registry on such an address (an internal registry).",
		bind: stringVar(func(s *Settings) *string { return &s.RegistryPrivateAddresses }, nil)},
	{name: "REGISTRY_CA_FILE", typ: "path", prod: val(""), dev: val(""), added: true,
		doc:  "PEM file of CA certificates trusted, besides the system roots, for the HTTPS calls of the image check to container registries (private registries); empty = system roots only.",
		bind: stringVar(func(s *Settings) *string { return &s.RegistryCAFile }, checkCAFile)},
	{name: "SHUTDOWN_TIMEOUT", typ: "duration", prod: val("30s"), dev: val("30s"), added: true,
		doc:  "On SIGTERM/SIGINT, how long requests in flight may still run before the server closes (Go duration).",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.ShutdownTimeout }, time.Millisecond)},
	{name: "MAX_BODY_BYTES", typ: "int", prod: val("8388608"), dev: val("8388608"), added: true,
		doc:  "Largest request body accepted, in bytes (8 MiB by default); larger bodies are refused.",
		bind: intVar(func(s *Settings) *int64 { return &s.MaxBodyBytes }, 1, 1<<40)},
	{name: "EXPORT_MAX_ROWS", typ: "int", prod: val("1000000"), dev: val("1000000"), added: true,
		doc:  "Most results one `GET /results:export` may hold; a larger export is refused (422, with the total) before anything is sent.",
		bind: intVar(func(s *Settings) *int64 { return &s.ExportMaxRows }, 1, 1<<40)},
	{name: "MAX_URL_BYTES", typ: "int", prod: val("8192"), dev: val("8192"), added: true,
		doc:  "Longest request target (path and query string) accepted, in bytes; longer ones get 414. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxURLBytes }, 0, 1<<30)},
	{name: "MAX_HEADER_BYTES", typ: "int", prod: val("65536"), dev: val("65536"), added: true,
		doc:  "Most bytes of request line and headers read (a bearer token included); beyond, the request gets 431 in the error format.",
		bind: intVar(func(s *Settings) *int { return &s.MaxHeaderBytes }, 4096, 1<<30)},
	{name: "MAX_FILTERS", typ: "int", prod: val("32"), dev: val("32"), added: true,
		doc:  "Most `filters` values of one result query (each is a condition on the stored documents); more get 422. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxFilters }, 0, 1<<20)},
	{name: "MAX_TAGS_IDS", typ: "int", prod: val("32"), dev: val("32"), added: true,
		doc:  "Most `tags_ids` values of one query; more get 422. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxTagIDs }, 0, 1<<20)},
	{name: "MAX_SEARCH_TERMS", typ: "int", prod: val("32"), dev: val("32"), added: true,
		doc:  "Most `terms` values of one `:search` query; more get 422. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxSearchTerms }, 0, 1<<20)},
	{name: "MAX_SORT_KEYS", typ: "int", prod: val("8"), dev: val("8"), added: true,
		doc:  "Most comma-separated keys of `sort_by` (each `json.` key sorts by a path inside the stored documents); more get 422. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxSortKeys }, 0, 1<<20)},
	{name: "MAX_SCHEMA_BYTES", typ: "int", prod: val("262144"), dev: val("262144"), added: true,
		doc:  "Largest `json_schema` of a submitted benchmark, in bytes (256 KiB by default); larger ones get 422. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxSchemaBytes }, 0, 1<<30)},
	{name: "MAX_SCHEMA_DEPTH", typ: "int", prod: val("64"), dev: val("64"), added: true,
		doc:  "Deepest nesting of arrays and objects in a submitted `json_schema`; deeper ones get 422 before they are checked or compiled. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxSchemaDepth }, 0, 1<<20)},
	{name: "MAX_SCHEMA_OBJECTS", typ: "int", prod: val("2000"), dev: val("2000"), added: true,
		doc:  "Most objects and arrays (subschemas, roughly) in a submitted `json_schema`; more get 422 before it is checked or compiled, whose cost grows faster than their number. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxSchemaObjects }, 0, 1<<20)},
	{name: "MAX_DOCUMENT_DEPTH", typ: "int", prod: val("64"), dev: val("64"), added: true,
		doc:  "Deepest nesting of arrays and objects in an uploaded result; deeper ones get 422 before they are decoded. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxDocumentDepth }, 0, 1<<20)},
	{name: "MAX_DOCUMENT_KEYS", typ: "int", prod: val("100000"), dev: val("100000"), added: true,
		doc:  "Most object members (at all levels) in an uploaded result; more get 422 before it is decoded. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxDocumentKeys }, 0, 1<<30)},
	{name: "MAX_TEXT_LENGTH", typ: "int", prod: val("4096"), dev: val("4096"), added: true,
		doc:  "Longest text member, in characters, of a benchmark, site, flavor, tag or claim body (`name`, `description`, `address`, `url`, `docker_image`, `docker_tag`, `message`); longer ones get 422. Tags are embedded in every result that carries them, and the catalog is cached by every replica. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxTextLength }, 0, 1<<30)},
	{name: "MAX_BODY_MEMBERS", typ: "int", prod: val("100"), dev: val("100"), added: true,
		doc:  "Most members of a JSON request body other than a result document (those of catalog, tag, claim, tag-list and token bodies; their declared fields are at most eight) and of a line of a bulk upload; more get 422 before the body is decoded. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxBodyMembers }, 0, 1<<30)},
	{name: "DB_STATEMENT_TIMEOUT", typ: "duration", prod: val("30s"), dev: val("30s"), added: true,
		doc:  "PostgreSQL `statement_timeout` of the service's connections (Go duration, whole milliseconds; `0s` = none): a statement running longer is cancelled and the request gets 503. The connections also run with `jit = off`, so that no query can spend minutes compiling. Migrations run without this timeout.",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.DBStatementTimeout }, 0)},
	{name: "MAX_HEAVY_REQUESTS", typ: "int", prod: val("8"), dev: val("8"), added: true,
		doc:  "Most heavy requests (on results, which may carry documents up to `MAX_BODY_BYTES`, and any request with a body) served at once, which bounds the memory they take together; others are not limited. `0` = no limit.",
		bind: intVar(func(s *Settings) *int { return &s.MaxHeavyRequests }, 0, 1<<20)},
	{name: "MAX_PAGE_BYTES", typ: "int", prod: val("33554432"), dev: val("33554432"), added: true,
		doc:  "Most bytes of stored documents one page of results may hold (32 MiB by default): a page of `per_page` results of up to `MAX_BODY_BYTES` each gets 422 instead, asking for fewer per page. `0` = no limit.",
		bind: intVar(func(s *Settings) *int64 { return &s.MaxPageBytes }, 0, 1<<40)},
	{name: "HEAVY_QUEUE_WAIT", typ: "duration", prod: val("1s"), dev: val("1s"), added: true,
		doc:  "How long a heavy request waits for one of the `MAX_HEAVY_REQUESTS` slots before it gets 503 with `Retry-After` (Go duration; `0s` = no wait).",
		bind: durationVar(func(s *Settings) *time.Duration { return &s.HeavyQueueWait }, 0)},
	{name: "LEAF_INDEX_CPU_PERCENT", typ: "int", prod: val("50"), dev: val("50"), added: true,
		doc:  "Largest share of one core, in percent (1-100), that the background indexer takes while uploaded results wait to enter the index of JSON filters (table `result_leaf`, migration 00013): after each batch it pauses so long that the rest is left to requests. Uploads never wait for it; a filter evaluates the documents of results not indexed yet, so answers are exact either way. `100` = no pause.",
		bind: intVar(func(s *Settings) *int { return &s.LeafIndexPercent }, 1, 100)},
}

// configIntro heads the settings reference of `config --markdown`.
const configIntro = "" +
	"Settings are environment variables. A `.env` file in the working directory is read as well; variables\n" +
	"of the real environment win over it (upstream also searched the parent directories; we do not). `FLASK_ENV`\n" +
	"selects the column of defaults; a **required** variable must be set. `SECRET_KEY_FILE` and `DB_PASSWORD_FILE`\n" +
	"name files (systemd credentials, container secrets) whose content, trailing newlines removed, takes\n" +
	"precedence over `SECRET_KEY` and `DB_PASSWORD`. In comma lists an empty string is the empty list, items are\n" +
	"trimmed and empty items dropped. Durations are Go durations (`30s`, `5m`, `1h`). With bad settings, `serve`\n" +
	"prints every problem, one per line, and exits non-zero before any network access. `eosc-perf-api config`\n" +
	"prints the effective settings with secrets redacted; `config --json` prints this table for machines.\n"

// runConfig is the config subcommand: without flags the effective settings,
// secrets redacted, one NAME=value per line (warnings go to stderr); with
// --markdown the settings reference of the README; with --json the same
// table for machines. The reference does not depend on the environment. When
// the settings do not load, the returned error lists every problem, one per
// line, for the caller to print.
func runConfig(args []string, lookup LookupEnv, dotenvDir string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("config", flag.ContinueOnError)
	fl.SetOutput(stderr)
	markdown := fl.Bool("markdown", false, "print the settings reference as a Markdown table")
	asJSON := fl.Bool("json", false, "print the settings reference as JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: eosc-perf-api config [--markdown | --json]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case fl.NArg() > 0:
		return fmt.Errorf("config: unexpected argument %q", fl.Arg(0))
	case *markdown && *asJSON:
		return errors.New("config: --markdown and --json exclude each other")
	case *markdown:
		_, err := io.WriteString(stdout, settingsMarkdown())
		return err
	case *asJSON:
		b, err := settingsJSON()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	s, err := LoadSettings(lookup, dotenvDir)
	if err != nil {
		return err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	_, err = io.WriteString(stdout, s.effective())
	return err
}

// effective renders s as NAME=value lines in table order; a secret that is
// set shows as <redacted>.
func (s Settings) effective() string {
	var b strings.Builder
	for _, st := range settingsTable {
		v := st.bind.format(&s)
		if st.secret && v != "" {
			v = "<redacted>"
		}
		fmt.Fprintf(&b, "%s=%s\n", st.name, v)
	}
	return b.String()
}

// settingsMarkdown renders the settings reference that README.md includes.
func settingsMarkdown() string {
	var b strings.Builder
	b.WriteString(configIntro)
	b.WriteString("\n| Variable | Production | Development | Description |\n| --- | --- | --- | --- |\n")
	for _, st := range settingsTable {
		prod := markdownDefault(st.prod)
		if st.prod == nil {
			prod = "**required**"
			if st.nonEmpty {
				prod = "**required, non-empty**"
			}
			if st.fileVariant != "" {
				prod += " (or `" + st.fileVariant + "`)"
			}
		}
		dev := markdownDefault(st.dev)
		if st.prod != nil && st.dev != nil && *st.prod == *st.dev {
			dev = "same"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", st.name, cell(prod), cell(dev), cell(st.description()))
	}
	return b.String()
}

func markdownDefault(v *string) string {
	switch {
	case v == nil:
		return "—"
	case *v == "":
		return "empty"
	}
	return "`" + strings.ReplaceAll(*v, ",", "`, `") + "`"
}

// cell keeps a value inside its Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// description is the documentation of st with what the table implies
// spelled out: enum values, the _FILE variant, redaction, novelty.
func (st setting) description() string {
	d := st.doc
	if len(st.enum) > 0 {
		d += " One of `" + strings.Join(st.enum, "`, `") + "`."
	}
	if st.fileVariant != "" {
		d += " `" + st.fileVariant + "` names a file whose content replaces it."
	}
	if st.nonEmpty {
		d += " Set but empty, it aborts start-up in either mode (as upstream)."
	}
	if st.secret {
		d += " Secret: shown redacted."
	}
	if st.added {
		d += " *Not in upstream.*"
	}
	return d
}

// jsonSetting is one entry of `config --json`; the Nix module reads it.
type jsonSetting struct {
	Name                 string      `json:"name"`
	Type                 string      `json:"type"`
	RequiredInProduction bool        `json:"required_in_production"`
	Secret               bool        `json:"secret"`
	FileVariant          string      `json:"file_variant"`
	Default              jsonDefault `json:"default"`
	Enum                 []string    `json:"enum,omitempty"`
	Description          string      `json:"description"`
}

// jsonDefault holds the defaults of both modes; null means none.
type jsonDefault struct {
	Production  *string `json:"production"`
	Development *string `json:"development"`
}

// settingsJSON renders the table as indented JSON in table order.
func settingsJSON() ([]byte, error) {
	out := struct {
		Settings []jsonSetting `json:"settings"`
	}{Settings: make([]jsonSetting, 0, len(settingsTable))}
	for _, st := range settingsTable {
		out.Settings = append(out.Settings, jsonSetting{
			Name:                 st.name,
			Type:                 st.typ,
			RequiredInProduction: st.prod == nil,
			Secret:               st.secret,
			FileVariant:          st.fileVariant,
			Default:              jsonDefault{Production: st.prod, Development: st.dev},
			Enum:                 st.enum,
			Description:          st.description(),
		})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
