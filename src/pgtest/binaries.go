package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// debianBinGlob is where Debian and Ubuntu packages install the server
// binaries; they are not on PATH there.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// binaries are the absolute paths of the server programs, all from one
// installation so that their versions match.
type binaries struct {
	initdb   string
	postgres string
}

// findBinaries returns the programs from dir when it is set, else from the
// directory of the first initdb on PATH that also holds postgres, else from
// the highest version under /usr/lib/postgresql.
func findBinaries(dir string) (binaries, error) {
	if dir != "" {
		return binariesIn(dir)
	}
	var tried []string
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve links (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin)
		// so postgres is taken from the same installation as initdb.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if b, err := binariesIn(filepath.Dir(p)); err == nil {
			return b, nil
		}
		tried = append(tried, filepath.Dir(p))
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return debianVersion(dirs[i]) > debianVersion(dirs[j]) })
	for _, d := range dirs {
		if b, err := binariesIn(d); err == nil {
			return b, nil
		}
		tried = append(tried, d)
	}
	return binaries{}, fmt.Errorf("pgtest: PostgreSQL server programs (initdb, postgres) not found on PATH or in %s (tried %v)", debianBinGlob, tried)
}

// binariesIn checks that dir holds executable initdb and postgres.
func binariesIn(dir string) (binaries, error) {
	b := binaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
	for _, p := range []string{b.initdb, b.postgres} {
		fi, err := os.Stat(p)
		if err != nil {
			return binaries{}, fmt.Errorf("pgtest: %w", err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("pgtest: %s is not executable", p)
		}
	}
	return b, nil
}

// debianVersion extracts the major version from /usr/lib/postgresql/<v>/bin
// for numeric ordering (so 17 sorts above 9.6); unknown forms sort last.
func debianVersion(dir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
	if err != nil {
		return -1
	}
	return v
}
