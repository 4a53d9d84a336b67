package pgtest

import (
	"context"
	"path/filepath"
	"syscall"
)

// BinDir returns the directory of the PostgreSQL server programs (initdb,
// postgres) that Start uses when Options.BinDir is empty: the one of initdb
// on PATH, else the newest /usr/lib/postgresql/*/bin. For tests that must
// run a server differently (in another network namespace, say).
func BinDir() (string, error) {
	b, err := findBinaries("")
	if err != nil {
		return "", err
	}
	return filepath.Dir(b.initdb), nil
}

// ServerCredential returns the unprivileged credentials PostgreSQL must run
// with when we are root (it refuses to run as root): Debian's postgres
// account, or a pgtest account created for the purpose. It returns nil when
// we are not root.
func ServerCredential(ctx context.Context) (*syscall.Credential, error) {
	a, err := chooseAccount(ctx)
	if err != nil || !a.asRoot() {
		return nil, err
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}, nil
}
