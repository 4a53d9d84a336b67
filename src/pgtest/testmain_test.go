package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes TestHelperHoldsSharedCluster act: it is this test binary
// run again as a child by TestSignalToTestBinary.
const helperEnv = "PGTEST_SIGNAL_HELPER"

// TestHelperHoldsSharedCluster is not a test of its own: as a child process
// it starts the shared cluster, reports it and waits to be signalled. It
// polls for its parent rather than sleeping a fixed time, so that a slow
// machine cannot make it give up before the signal comes, and an orphaned
// helper (the parent test binary died) does not linger; its -test.timeout
// bounds it in any case.
func TestHelperHoldsSharedCluster(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	parent := os.Getppid()
	c := Shared(t)
	fmt.Printf("PGTEST-READY %d %s\n", c.PID(), c.Dir())
	for os.Getppid() == parent {
		time.Sleep(50 * time.Millisecond)
	}
	t.Error("helper was not signalled: its parent is gone")
}

// testContext is a context that ends a little before the test's deadline
// (go test -timeout), or after ten minutes without one.
func testContext(t *testing.T) context.Context {
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-5*time.Second))
	t.Cleanup(cancel)
	return ctx
}

func TestSignalToTestBinary(t *testing.T) {
	t.Parallel()
	// Become the orphaned postmasters' new parent so that they can be
	// reaped below: PID 1 of some containers never reaps. The subtests run
	// in parallel; the setting is undone when all of them are done.
	setSubreaper(t)
	tests := []struct {
		name       string
		sig        syscall.Signal
		dirRemains bool // SIGKILL leaves the directory to the next sweep
	}{
		{"SIGTERM stops the server and removes the directory", syscall.SIGTERM, false},
		{"SIGINT stops the server and removes the directory", syscall.SIGINT, false},
		{"SIGKILL still stops the server through the parent-death signal", syscall.SIGKILL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperHoldsSharedCluster$", "-test.count=1", "-test.timeout=10m")
			// A parent directory of its own: the Start of a parallel test
			// sweeps stale directories, such as the one SIGKILL leaves.
			cmd.Env = append(os.Environ(), helperEnv+"=1", "TMPDIR="+searchableTempDir(t))
			cmd.Stderr = os.Stderr
			// exec copies the child's output into pw until the child exits;
			// the reader below reports the READY line and drains the rest.
			pr, pw := io.Pipe()
			cmd.Stdout = pw
			defer pw.Close()
			ready := make(chan [2]string, 1)
			go func() {
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "PGTEST-READY" {
						ready <- [2]string{f[1], f[2]}
					}
				}
			}()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var pid int
			var dir string
			select {
			case r := <-ready:
				pid, _ = strconv.Atoi(r[0])
				dir = r[1]
			case <-ctx.Done():
			}
			if pid == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("helper did not report its cluster before the test's deadline")
			}

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("helper exit: %v, want a non-zero exit", err)
			}

			// Stop escalates to SIGKILL within half a minute; a loaded
			// machine gets more.
			for deadline := time.Now().Add(2 * time.Minute); processExists(pid) && time.Now().Before(deadline) && ctx.Err() == nil; {
				time.Sleep(20 * time.Millisecond)
			}
			if processExists(pid) || groupAlive(pid) {
				syscall.Kill(-pid, syscall.SIGKILL)
				t.Errorf("postgres (pid %d) survived %v of its test binary", pid, tt.sig)
			}
			reap(pid)
			_, statErr := os.Stat(dir)
			if exists := statErr == nil; exists != tt.dirRemains {
				t.Errorf("directory %s exists = %v after %v, want %v", dir, exists, tt.sig, tt.dirRemains)
			}
			if tt.dirRemains {
				sweepStale(filepath.Dir(dir))
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					os.RemoveAll(dir)
					t.Errorf("sweep left the directory of the killed binary: %v", err)
				}
			}
		})
	}
}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
const prSetChildSubreaper = 36

// setSubreaper makes this process the parent of its orphaned descendants
// for the rest of the test.
func setSubreaper(t *testing.T) {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	t.Cleanup(func() { syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0) })
}

// reap collects the exit status of pid if it became our child, waiting at
// most a few seconds.
func reap(pid int) {
	var ws syscall.WaitStatus
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid || err != nil { // reaped, or not our child (already reaped by exec)
			return
		}
	}
}
