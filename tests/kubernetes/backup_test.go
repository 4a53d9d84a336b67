package kubernetes

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/store"
	_ "github.com/lib/pq"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The backup CronJob's script, run for real: against a throwaway PostgreSQL
// holding the migrated schema, with pg_dump from the same installation. It
// writes a custom-format dump into the backup directory, keeps the newest
// `backup.keep` dumps and nothing else of them, and the dump restores into
// an empty database with the schema current and the rows back.
func TestBackupScriptDumpsKeepsAndRestores(t *testing.T) {
	t.Parallel()
	nixInstantiate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(ctx, db, store.MigrateUp, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE backup_probe (n int); INSERT INTO backup_probe SELECT generate_series(1, 50)`); err != nil {
		t.Fatal(err)
	}

	// The manifests for this database: its name, role and port.
	dbName := strings.TrimPrefix(u.Path, "/")
	m := generate(t, `{ adminEntitlements = [ ]; backup.keep = 2; database = { name = `+nixString(dbName)+
		`; user = `+nixString(u.User.Username())+`; port = `+u.Port()+`; }; }`)
	cj := one(t, "CronJob", m.crons)
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 3 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		t.Fatalf("backup command %q, want sh -c SCRIPT", c.Command)
	}
	script := c.Command[2]

	// What differs outside the cluster: the Service's name, the mounts.
	dir := t.TempDir()
	backupDir := filepath.Join(dir, "backup")
	secret := filepath.Join(dir, "db-password")
	if err := os.Mkdir(backupDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := serviceSelecting(t, m, one(t, "StatefulSet", m.sts).Spec.Template.Labels)
	for old, repl := range map[string]string{
		"--host=" + svc.Name + " ":               "--host=" + u.Hostname() + " ",
		"/run/secrets/eosc-perf-api/db-password": secret,
		"/backup":                                backupDir,
	} {
		if !strings.Contains(script, old) {
			t.Fatalf("the backup script does not contain %q:\n%s", old, script)
		}
		script = strings.ReplaceAll(script, old, repl)
	}
	// Two older dumps and an unrelated file.
	for _, name := range []string{"eosc-perf-20200101T000000Z.dump", "eosc-perf-20210101T000000Z.dump", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(backupDir, name), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	bin, err := pgtest.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the backup script: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 || !slices.Contains(names, "eosc-perf-20210101T000000Z.dump") || !slices.Contains(names, "notes.txt") {
		t.Fatalf("backup directory holds %v: want the new dump, the newest older one and notes.txt", names)
	}
	var dump string
	for _, n := range names {
		if strings.HasPrefix(n, "eosc-perf-2") && n != "eosc-perf-20210101T000000Z.dump" {
			dump = filepath.Join(backupDir, n)
		}
	}
	if dump == "" {
		t.Fatalf("no new dump among %v", names)
	}

	// Restore into an empty database owned by another role.
	dsn2 := pgtest.NewDatabase(t)
	restore := exec.CommandContext(ctx, filepath.Join(bin, "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
		"--dbname="+dsn2, dump)
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	db2, err := sql.Open("postgres", dsn2)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var n int
	if err := db2.QueryRowContext(ctx, `SELECT count(*) FROM backup_probe`).Scan(&n); err != nil || n != 50 {
		t.Errorf("restored backup_probe: %d rows (%v), want 50", n, err)
	}
	if ok, err := store.SchemaCurrent(ctx, db2); err != nil || !ok {
		t.Errorf("restored schema current: %v (%v)", ok, err)
	}
}
