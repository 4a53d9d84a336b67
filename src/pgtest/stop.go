package pgtest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Stop shuts the server down (fast shutdown, escalating to immediate and to
// SIGKILL when it does not finish in time) and removes the temporary
// directory. It is idempotent: later calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	if c.super != nil {
		c.super.Close()
	}
	if c.cmd != nil {
		errs = append(errs, c.stopServer())
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: remove %s: %w", c.dir, err))
	}
	return errors.Join(errs...)
}

// stopServer signals the postmaster, escalating, with bounded waits, and
// then waits until no process of its group is left.
func (c *Cluster) stopServer() error {
	pid := c.cmd.Process.Pid
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, 15 * time.Second}, // fast shutdown: ends sessions, short checkpoint
		{syscall.SIGQUIT, 5 * time.Second}, // immediate shutdown
		{syscall.SIGKILL, 5 * time.Second}, // the whole group, backends included
	}
	stopped := false
	for _, s := range steps {
		target := pid
		if s.sig == syscall.SIGKILL {
			target = -pid
		}
		_ = syscall.Kill(target, s.sig) // ESRCH: it has just exited; the wait sees it
		select {
		case <-c.exited:
			stopped = true
		case <-time.After(s.wait):
		}
		if stopped {
			break
		}
	}
	if !stopped {
		return fmt.Errorf("pgtest: postgres (pid %d) did not exit", pid)
	}
	return waitGroupGone(pid)
}

// waitGroupGone waits until no process of the server's group is left:
// backends exit with the postmaster, but after a SIGKILL or SIGQUIT they
// may need a moment to notice.
func waitGroupGone(pid int) error {
	deadline := time.Now().Add(5 * time.Second)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: processes of group %d still running after the server stopped", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
