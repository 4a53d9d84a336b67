package nixeval

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The backup script the module writes, run as systemd would (bash) with a
// stand-in pg_dump and clock: each run adds a complete dump, no
// in-progress file stays behind, and only the newest `keep` remain.
// (tests/topology runs the real pg_dump and pg_restore.)
func TestBackupScriptKeepsTheNewestDumps(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of the backup script")
	dir := t.TempDir()
	backups := filepath.Join(dir, "backups")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{backups, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var script string
	evalJSON(t, libDir, `(import (repo + "/nix/tests/eval-harness.nix") { inherit lib; configuration = {
		services.eosc-perf = { `+dbServer+` database.port = 5433; backup = { enable = true; keep = 3; directory = `+nixString(backups)+`; }; }; }; }).units.eosc-perf-backup.script`, &script)

	// pg_dump writes its --file after checking the port and format it was
	// given; date answers the next time from a counter.
	fakes := map[string]string{
		"pg_dump": `#!/bin/bash
set -eu
[[ " $* " == *" --port=5433 "* && " $* " == *" --format=custom "* && " $* " == *" eosc_perf "* ]] || { echo "pg_dump $*" >&2; exit 3; }
for a; do case $a in --file=*) echo dump > "${a#--file=}";; esac; done
`,
		"date": `#!/bin/bash
n=$(cat "` + dir + `/clock" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "` + dir + `/clock"
printf '20260101T0000%02dZ\n' "$n"
`,
	}
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for run := 1; run <= 5; run++ {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v\n%s\n%s", run, err, out, script)
		}
	}
	entries, err := os.ReadDir(backups)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"eosc_perf-20260101T000003Z.dump", "eosc_perf-20260101T000004Z.dump", "eosc_perf-20260101T000005Z.dump"}
	if !slices.Equal(names, want) {
		t.Errorf("after 5 runs with keep = 3: %s, want %s", strings.Join(names, " "), strings.Join(want, " "))
	}
}
