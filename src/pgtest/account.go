package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// serverAccount is the unprivileged account the server programs run as when
// we are root (PostgreSQL refuses to run as root). The zero value means "run
// as ourselves".
type serverAccount struct {
	name     string
	uid, gid uint32
}

// asRoot reports whether the programs must be run as another account.
func (a serverAccount) asRoot() bool { return a.name != "" }

// sysProcAttr returns the process attributes for a server program: its own
// process group (so a Ctrl-C on the terminal reaches us, and we stop the
// server in order) and, when we are root, the unprivileged credentials.
func (a serverAccount) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if a.asRoot() {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
	}
	return attr
}

// chown gives path to the account (a no-op when not root).
func (a serverAccount) chown(path string) error {
	if !a.asRoot() {
		return nil
	}
	return os.Chown(path, int(a.uid), int(a.gid))
}

// Accounts tried in order when we are root: Debian's packages create
// "postgres"; otherwise we create fallbackAccount.
const (
	debianAccount   = "postgres"
	fallbackAccount = "pgtest"
)

// chooseAccount returns the zero account when not root. As root it returns
// the postgres account, or creates a system account with useradd.
func chooseAccount(ctx context.Context) (serverAccount, error) {
	if os.Geteuid() != 0 {
		return serverAccount{}, nil
	}
	for _, name := range []string{debianAccount, fallbackAccount} {
		if a, err := lookupAccount(name); err == nil {
			return a, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group",
		"--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		fallbackAccount).CombinedOutput()
	// Another test binary may have created it at the same moment: look again
	// before reporting the failure.
	if a, lerr := lookupAccount(fallbackAccount); lerr == nil {
		return a, nil
	}
	if err != nil {
		return serverAccount{}, fmt.Errorf("pgtest: running as root and no %q account: useradd %s: %w: %s",
			debianAccount, fallbackAccount, err, out)
	}
	return serverAccount{}, fmt.Errorf("pgtest: account %q not found after useradd", fallbackAccount)
}

func lookupAccount(name string) (serverAccount, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return serverAccount{}, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return serverAccount{}, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return serverAccount{}, err
	}
	if uid == 0 {
		return serverAccount{}, errors.New("pgtest: account " + name + " is root")
	}
	return serverAccount{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

// parentDir picks where the cluster's temporary directory goes: want when
// set, else the system temporary directory. When the server runs as another
// account, every ancestor must be searchable by others (a TMPDIR under /root
// is not), so an unsuitable default falls back to /tmp.
func parentDir(want string, a serverAccount) (string, error) {
	if want != "" {
		if a.asRoot() && !searchableByOthers(want) {
			return "", fmt.Errorf("pgtest: %s is not searchable by account %s", want, a.name)
		}
		return want, nil
	}
	dir := os.TempDir()
	if a.asRoot() && !searchableByOthers(dir) {
		dir = "/tmp"
		if !searchableByOthers(dir) {
			return "", fmt.Errorf("pgtest: no temporary directory searchable by account %s", a.name)
		}
	}
	return dir, nil
}

// searchableByOthers reports whether dir and all its ancestors have the
// execute bit for others.
func searchableByOthers(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}
