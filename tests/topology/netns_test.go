package topology

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// namePrefix starts every namespace and temporary directory this test
// creates; the creating process's id follows, so leftovers of dead runs can
// be told from those of concurrent ones.
const namePrefix = "eosct-"

// runParent holds the runs' directories: /tmp rather than $TMPDIR, which may
// not be searchable by PostgreSQL's account (a TMPDIR under /root is not).
const runParent = "/tmp"

// The addresses of the VM test's topology, moved into 198.18.0.0/15:
// frontend-net 198.18.1.0/24, backend-net 198.18.2.0/24.
const (
	clientAddr     = "198.18.1.2"
	proxyFrontAddr = "198.18.1.1"
	proxyBackAddr  = "198.18.2.10"
	api1Addr       = "198.18.2.1"
	api2Addr       = "198.18.2.2"
	dbAddr         = "198.18.2.3"
	rogueAddr      = "198.18.2.4"
	prefixLen      = "24"
)

// network is one run's set of namespaces.
type network struct {
	run                                      string // namePrefix + pid + random, unique to this run
	sw, client, proxy, api1, api2, db, rogue string // namespace names
}

// link is one host's interface on one of the bridges.
type link struct {
	ns, ifname, addr, bridge, swSide string
}

// newNetwork creates the namespaces, bridges and links, and registers their
// removal with t.Cleanup.
func newNetwork(t *testing.T) *network {
	t.Helper()
	sweepLeftovers(t)
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	run := namePrefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(suffix)
	n := &network{run: run, sw: run + "-sw", client: run + "-client", proxy: run + "-proxy",
		api1: run + "-api1", api2: run + "-api2", db: run + "-db", rogue: run + "-rogue"}

	namespaces := []string{n.sw, n.client, n.proxy, n.api1, n.api2, n.db, n.rogue}
	for _, ns := range namespaces {
		ip(t, "netns", "add", ns)
		t.Cleanup(func() { deleteNamespace(t, ns) })
		ip(t, "-n", ns, "link", "set", "lo", "up")
	}
	// The bridges are the two networks. Interface names are local to a
	// namespace, and the switch namespace is this run's own: no collisions.
	for _, br := range []string{"frontend-net", "backend-net"} {
		ip(t, "-n", n.sw, "link", "add", br, "type", "bridge")
		ip(t, "-n", n.sw, "link", "set", br, "addrgenmode", "none")
		ip(t, "-n", n.sw, "link", "set", br, "up")
	}
	links := []link{
		{n.client, "eth1", clientAddr, "frontend-net", "client-eth1"},
		{n.proxy, "eth1", proxyFrontAddr, "frontend-net", "proxy-eth1"},
		{n.proxy, "eth2", proxyBackAddr, "backend-net", "proxy-eth2"},
		{n.api1, "eth1", api1Addr, "backend-net", "api1-eth1"},
		{n.api2, "eth1", api2Addr, "backend-net", "api2-eth1"},
		{n.db, "eth1", dbAddr, "backend-net", "db-eth1"},
		{n.rogue, "eth1", rogueAddr, "backend-net", "rogue-eth1"},
	}
	for _, l := range links {
		ip(t, "-n", n.sw, "link", "add", l.swSide, "type", "veth", "peer", "name", l.ifname, "netns", l.ns)
		ip(t, "-n", n.sw, "link", "set", l.swSide, "master", l.bridge)
		// addrgenmode none: no IPv6 link-local address, so no traffic
		// outside 198.18.0.0/15, not even router solicitations.
		ip(t, "-n", n.sw, "link", "set", l.swSide, "addrgenmode", "none")
		ip(t, "-n", n.sw, "link", "set", l.swSide, "up")
		ip(t, "-n", l.ns, "link", "set", l.ifname, "addrgenmode", "none")
		ip(t, "-n", l.ns, "addr", "add", l.addr+"/"+prefixLen, "dev", l.ifname)
		ip(t, "-n", l.ns, "link", "set", l.ifname, "up")
	}
	return n
}

// firewall loads an nftables ruleset into namespace ns.
func firewall(t *testing.T, ns, ruleset string) {
	t.Helper()
	if out, err := runCmd(ruleset, "ip", "netns", "exec", ns, "nft", "-f", "-"); err != nil {
		t.Fatalf("nft in %s: %v\n%s", ns, err, out)
	}
}

// ip runs the ip command of iproute2 and fails the test on error.
func ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := runCmd("", "ip", args...); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// runCmd runs a short command with a time limit, feeding it stdin, and
// returns its combined output.
func runCmd(stdin, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd.CombinedOutput()
}

// deleteNamespace kills what still runs in ns and removes it; its links and
// bridges go with it.
func deleteNamespace(t testing.TB, ns string) {
	if out, err := runCmd("", "ip", "netns", "pids", ns); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if out, err := runCmd("", "ip", "netns", "delete", ns); err != nil {
		t.Errorf("removing network namespace %s: %v\n%s", ns, err, out)
	}
}

// sweepLeftovers removes the namespaces and directories of runs whose
// process is gone (killed by a timeout, say, before its cleanups ran).
func sweepLeftovers(t testing.TB) {
	t.Helper()
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if deadRun(e.Name()) {
				deleteNamespace(t, e.Name())
			}
		}
	}
	if entries, err := os.ReadDir(runParent); err == nil {
		for _, e := range entries {
			if e.IsDir() && deadRun(e.Name()) {
				_ = os.RemoveAll(filepath.Join(runParent, e.Name()))
			}
		}
	}
}

// deadRun reports whether name was made by a run of this test whose process
// no longer exists.
func deadRun(name string) bool {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return false
	}
	pidText, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// startInNamespace starts cmd inside network namespace ns. The child is
// forked from an OS thread that has joined ns and that stays alive, locked,
// until the child exits: cmd.SysProcAttr.Pdeathsig is tied to that thread,
// so a child with one dies with this process however it ends. The returned
// channel yields cmd.Wait's result.
func startInNamespace(ns string, cmd *exec.Cmd) (<-chan error, error) {
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread now belongs to ns, and the runtime
		// ends a goroutine's locked thread instead of reusing it.
		runtime.LockOSThread()
		if err := joinNamespace(ns); err != nil {
			started <- err
			return
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s in %s: %w", cmd.Path, ns, err)
	}
	return done, nil
}

// joinNamespace moves the calling OS thread into network namespace ns.
func joinNamespace(ns string) error {
	f, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	return nil
}

// logTail returns the end of a log file for a failure message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
