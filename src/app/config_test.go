package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

// updateReadme rewrites the settings block of README.md from `config
// --markdown`: go test ./src/app -run TestReadmeSettings -update
// (or UPDATE_README=1 in the environment).
var updateReadme = flag.Bool("update", false, "rewrite the settings block of README.md")

const (
	readmePath    = "../../README.md"
	settingsBegin = "<!-- settings:begin -->\n"
	settingsEnd   = "<!-- settings:end -->"
)

func TestReadmeSettings(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	head, rest, ok1 := strings.Cut(readme, settingsBegin)
	block, tail, ok2 := strings.Cut(rest, settingsEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the markers %q … %q", settingsBegin, settingsEnd)
	}
	want := "\n" + settingsMarkdown() + "\n"
	if block == want {
		return
	}
	if *updateReadme || os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile(readmePath, []byte(head+settingsBegin+want+settingsEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote the settings block of README.md")
		return
	}
	t.Errorf("the settings block of README.md differs from `config --markdown`; run\n" +
		"  go test ./src/app -run TestReadmeSettings -update")
}

func TestConfigEffectiveView(t *testing.T) {
	env := prodSettingsEnv(map[string]string{"DB_PASSWORD": "pa55 word", "SECRET_KEY": "top-secret", "CORS_ORIGINS": "https://a.example, https://b.example"})
	var out, errOut bytes.Buffer
	if err := runConfig(nil, lookupMap(env), t.TempDir(), &out, &errOut); err != nil {
		t.Fatalf("runConfig: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(settingsTable) {
		t.Errorf("%d lines, want one per setting (%d):\n%s", len(lines), len(settingsTable), out.String())
	}
	for i, st := range settingsTable {
		if i < len(lines) && !strings.HasPrefix(lines[i], st.name+"=") {
			t.Errorf("line %d = %q, want %s=… (table order)", i+1, lines[i], st.name)
		}
	}
	for _, want := range []string{"SECRET_KEY=<redacted>", "DB_PASSWORD=<redacted>", "DB_HOST=db", "DB_PORT=5432",
		"FLASK_ENV=production", "CORS_ORIGINS=https://a.example,https://b.example", "MAX_BODY_BYTES=8388608"} {
		if !slices.Contains(lines, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, secret := range []string{"pa55", "top-secret"} {
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("output shows the secret %q", secret)
		}
	}
	if !strings.Contains(errOut.String(), "warning: TRUSTED_OP_LIST is the upstream default") {
		t.Errorf("stderr = %q, want the warnings", errOut.String())
	}
}

func TestConfigFailsWithEveryProblem(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runConfig(nil, lookupMap(map[string]string{}), t.TempDir(), &out, &errOut)
	if err == nil {
		t.Fatal("runConfig succeeded with an empty production environment")
	}
	if got := len(settingsProblems(err)); got != 7 {
		t.Errorf("%d problems, want 7:\n%v", got, err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", out.String())
	}
}

func TestConfigRefusesBadCommandLines(t *testing.T) {
	for _, args := range [][]string{{"--markdown", "--json"}, {"extra"}, {"--yaml"}} {
		t.Run(strings.Join(args, " ")+" is refused", func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runConfig(args, lookupMap(nil), "", &out, &errOut); err == nil {
				t.Errorf("runConfig(%q) succeeded", args)
			}
		})
	}
}

func TestConfigMarkdown(t *testing.T) {
	var out bytes.Buffer
	// The reference needs no valid environment.
	if err := runConfig([]string{"--markdown"}, lookupMap(nil), "", &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	if md != settingsMarkdown() {
		t.Error("--markdown differs from settingsMarkdown()")
	}
	rows := []string{}
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	if len(rows) != len(settingsTable) {
		t.Fatalf("%d table rows, want %d", len(rows), len(settingsTable))
	}
	for i, st := range settingsTable {
		if cells := strings.Count(rows[i], " | "); !strings.HasPrefix(rows[i], "| `"+st.name+"` |") || cells != 3 {
			t.Errorf("row %d = %q, want %s with 4 cells", i+1, rows[i], st.name)
		}
	}
	for _, want := range []string{
		"| `SECRET_KEY` | **required, non-empty** (or `SECRET_KEY_FILE`) | `not-so-secret` |",
		"| `DB_HOST` | **required** | `not-defined` |",
		"| `ADMIN_ENTITLEMENTS` | **required** | empty |",
		"| `LISTEN_ADDR` | `:5000` | same |",
		"| `MAIL_SERVER` | empty | same |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestConfigJSON(t *testing.T) {
	var out bytes.Buffer
	if err := runConfig([]string{"--json"}, lookupMap(nil), "", &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Settings []struct {
			Name                 string             `json:"name"`
			Type                 string             `json:"type"`
			RequiredInProduction bool               `json:"required_in_production"`
			Secret               bool               `json:"secret"`
			FileVariant          *string            `json:"file_variant"`
			Default              map[string]*string `json:"default"`
			Enum                 []string           `json:"enum"`
			Description          string             `json:"description"`
		} `json:"settings"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("--json does not parse: %v", err)
	}
	if len(doc.Settings) != len(settingsTable) {
		t.Fatalf("%d settings, want %d", len(doc.Settings), len(settingsTable))
	}
	types := []string{"string", "int", "duration", "list", "enum", "path", "bool"}
	for i, st := range settingsTable {
		got := doc.Settings[i]
		if got.Name != st.name || !slices.Contains(types, got.Type) || got.Description == "" || got.FileVariant == nil {
			t.Errorf("entry %d = %+v, want %s with a known type, file_variant and a description", i, got, st.name)
		}
		if _, ok := got.Default["production"]; !ok || len(got.Default) != 2 {
			t.Errorf("%s: default = %v, want production and development keys", got.Name, got.Default)
		}
		if (got.Type == "enum") != (len(got.Enum) > 0) {
			t.Errorf("%s: type %s with enum %q", got.Name, got.Type, got.Enum)
		}
	}
	byName := map[string]int{}
	for i, s := range doc.Settings {
		byName[s.Name] = i
	}
	secret := doc.Settings[byName["SECRET_KEY"]]
	if !secret.Secret || !secret.RequiredInProduction || *secret.FileVariant != "SECRET_KEY_FILE" ||
		secret.Default["production"] != nil || *secret.Default["development"] != "not-so-secret" {
		t.Errorf("SECRET_KEY = %+v", secret)
	}
	if admin := doc.Settings[byName["ADMIN_ENTITLEMENTS"]]; !admin.RequiredInProduction || *admin.Default["development"] != "" {
		t.Errorf("ADMIN_ENTITLEMENTS = %+v", admin)
	}
	if lvl := doc.Settings[byName["LOG_LEVEL"]]; lvl.RequiredInProduction || *lvl.Default["production"] != "info" ||
		!slices.Equal(lvl.Enum, []string{"debug", "info", "warn", "error"}) {
		t.Errorf("LOG_LEVEL = %+v", lvl)
	}
	for _, name := range []string{"FLASK_ENV", "SECRET_KEY", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME",
		"TRUSTED_OP_LIST", "ADMIN_ENTITLEMENTS", "MAIL_SUPPORT", "MAIL_FROM", "MAIL_SERVER", "MAIL_PORT", "BACKEND_ROUTE",
		"BCRYPT_LOG_ROUNDS", "LISTEN_ADDR", "METRICS_ADDR", "LOG_LEVEL", "DB_SSLMODE", "DB_MAX_OPEN_CONNS",
		"DB_MAX_IDLE_CONNS", "DB_CONN_MAX_LIFETIME", "DB_WAIT_TIMEOUT", "OIDC_CA_FILE", "OIDC_TIMEOUT", "CORS_ORIGINS", "REGISTRY_CA_FILE", "REGISTRY_PRIVATE_ADDRESSES",
		"BENCHMARK_IMAGE_CHECK", "SHUTDOWN_TIMEOUT", "MAX_BODY_BYTES"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("--json lacks %s", name)
		}
	}
}
