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
// it starts the shared cluster, reports it and waits to be signalled.
func TestHelperHoldsSharedCluster(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	c := Shared(t)
	fmt.Printf("PGTEST-READY %d %s\n", c.PID(), c.Dir())
	time.Sleep(time.Minute) // bounded: the parent signals long before
	t.Error("helper was not signalled")
}

func TestSignalToTestBinary(t *testing.T) {
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
			// Become the orphaned postmaster's new parent so that it can be
			// reaped below: PID 1 of some containers never reaps.
			setSubreaper(t)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperHoldsSharedCluster$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"=1")
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
			case <-time.After(60 * time.Second):
			}
			if pid == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("helper did not report its cluster")
			}

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("helper exit: %v, want a non-zero exit", err)
			}

			deadline := time.Now().Add(15 * time.Second)
			for processExists(pid) && time.Now().Before(deadline) {
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
