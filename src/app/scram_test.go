package app

import (
	"bytes"
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/pgtest"
	_ "github.com/lib/pq"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The verifier printed by `scram-verifier` is what PostgreSQL itself would
// store: set as a role's password it is kept unchanged, and the role then
// logs in over TCP (scram-sha-256) with the password, not with a wrong one.
func TestScramVerifierLogsInToPostgreSQL(t *testing.T) {
	t.Parallel()
	password := "correct horse battery staple 42!"
	file := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"eosc-perf-api", "scram-verifier", "--password-file", file},
		func(string) (string, bool) { return "", false }, &out, &errOut); code != 0 {
		t.Fatalf("scram-verifier exited %d: %s", code, errOut.String())
	}
	verifier := strings.TrimSpace(out.String())
	if !strings.HasPrefix(verifier, "SCRAM-SHA-256$4096:") || strings.Contains(verifier, password) {
		t.Fatalf("verifier %q", verifier)
	}

	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	super, err := sql.Open("postgres", pgtest.Shared(t).SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	role := u.User.Username()
	// The verifier as a literal: it holds no quote (base64, '$', ':').
	if _, err := super.ExecContext(ctx, `ALTER ROLE "`+role+`" PASSWORD '`+verifier+`'`); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := super.QueryRowContext(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != verifier {
		t.Errorf("pg_authid holds %q, want the verifier unchanged %q", stored, verifier)
	}

	login := func(pw string) error {
		v := *u
		v.User = url.UserPassword(role, pw)
		db, err := sql.Open("postgres", v.String())
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	}
	if err := login(password); err != nil {
		t.Errorf("login with the password after setting its verifier: %v", err)
	}
	if err := login(password + "x"); err == nil {
		t.Error("login with a wrong password succeeded")
	}
}

func TestScramVerifierKnownAnswer(t *testing.T) {
	t.Parallel()
	// RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
	// 4096 iterations; StoredKey and ServerKey as derived from its proofs.
	salt := []byte{0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81}
	got, err := scramVerifierWithSalt("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	want := "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
	if got != want {
		t.Errorf("verifier %s, want %s", got, want)
	}
}

func TestScramVerifierRefusesWhatPostgreSQLWouldNormalise(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"", "pässword", "tab\there"} {
		if v, err := scramVerifier(pw, strings.NewReader(strings.Repeat("s", 16))); err == nil {
			t.Errorf("scramVerifier(%q) = %q, want an error", pw, v)
		}
	}
}
