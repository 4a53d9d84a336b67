package pgtest

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// ShutdownMode is how Halt stops the server (PostgreSQL's shutdown modes).
type ShutdownMode int

const (
	// Fast ends every session (57P01 to the clients), writes a checkpoint
	// and exits: SIGINT.
	Fast ShutdownMode = iota
	// Immediate exits at once without a checkpoint, as a crash would; the
	// next start recovers from the WAL: SIGQUIT.
	Immediate
)

func (m ShutdownMode) String() string {
	if m == Immediate {
		return "immediate"
	}
	return "fast"
}

// Halt stops the server in the given mode and waits until every process of
// it has exited, keeping the data directory, for fault tests: Resume starts
// it again on the same port. It is not safe to call concurrently with Stop.
func (c *Cluster) Halt(mode ShutdownMode) error {
	if c.cmd == nil {
		return fmt.Errorf("pgtest: halt: the server is not running")
	}
	sig := syscall.SIGINT
	if mode == Immediate {
		sig = syscall.SIGQUIT
	}
	pid := c.cmd.Process.Pid
	_ = syscall.Kill(pid, sig)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("pgtest: halt (%v): postgres (pid %d) did not exit", mode, pid)
	}
	return waitGroupGone(pid)
}

// Resume starts the server halted by Halt on its port and waits until it
// accepts connections (after crash recovery, for Immediate).
func (c *Cluster) Resume(ctx context.Context) error {
	select {
	case <-c.exited:
	default:
		return fmt.Errorf("pgtest: resume: the server is running")
	}
	ctx, cancel := context.WithTimeout(ctx, defaultStartTimeout)
	defer cancel()
	return c.startServer(ctx, c.port)
}
