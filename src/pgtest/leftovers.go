package pgtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirPrefix names the temporary directories, so that leftovers can be found.
const dirPrefix = "eosc-pgtest-"

// ownerFile in a cluster directory records the process that made it as
// "<pid> <start time>": the start time (from /proc) tells a live owner from
// a later process that reused its pid.
const ownerFile = "owner"

// writeOwner records the current process as the owner of dir.
func writeOwner(dir string) error {
	pid := os.Getpid()
	start, err := procStartTime(pid)
	if err != nil {
		start = 0 // no /proc: the marker then never proves the owner dead
	}
	content := fmt.Sprintf("%d %d\n", pid, start)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(content), 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// sweepStale removes cluster directories in parent whose owner process is
// gone and whose server is not running: what a killed test binary left
// behind (the kernel stopped its server, but nobody removed the files).
// Anything uncertain is left alone; errors are ignored, as this is tidying.
func sweepStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if stale(dir) {
			_ = os.RemoveAll(dir)
		}
	}
}

// stale reports whether dir's owner is provably dead and its postmaster is
// not running.
func stale(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false // still being created, or not ours
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil || pid <= 0 || start == 0 {
		return false
	}
	if st, err := procStartTime(pid); err == nil && st == start {
		return false // the owner is alive
	} else if err != nil && !os.IsNotExist(err) {
		return false // cannot tell
	}
	// The first line of postmaster.pid is the server's pid; the file is
	// removed on a clean shutdown but stays after SIGQUIT or SIGKILL.
	if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
		line, _, _ := bytes.Cut(pm, []byte("\n"))
		if spid, err := strconv.Atoi(string(bytes.TrimSpace(line))); err == nil && processExists(spid) {
			return false
		}
	}
	return true
}

// procStartTime returns the start time of process pid (field 22 of
// /proc/<pid>/stat, in clock ticks since boot).
func procStartTime(pid int) (uint64, error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[22-3], 10, 64)
}

// processExists reports whether a process with this pid exists and is not
// a zombie. Orphans are reparented to PID 1, which in some containers never
// reaps them; a zombie runs nothing and holds no resources of ours.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && err != syscall.EPERM {
		return false
	}
	state, _, err := procState(pid)
	return err != nil || state != 'Z' // without /proc, trust kill
}

// groupAlive reports whether any process of process group pgid is running
// (zombies do not count).
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell; kill says the group exists
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pgrp, err := procState(pid)
		if err == nil && pgrp == pgid && state != 'Z' {
			return true
		}
	}
	return false
}

// procState returns the state (field 3) and process group (field 5) of pid.
func procState(pid int) (state byte, pgrp int, err error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, 0, err
	}
	pgrp, err = strconv.Atoi(fields[5-3])
	return fields[0][0], pgrp, err
}

// procStat returns the fields of /proc/<pid>/stat after the command name,
// so that index 0 is field 3.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[i+1:]))
	if i < 0 || len(fields) < 20 {
		return nil, fmt.Errorf("pgtest: malformed /proc/%d/stat", pid)
	}
	return fields, nil
}

// LogTail returns the last n lines of the server's log, for error messages.
func (c *Cluster) LogTail(n int) string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	// The end of the file is enough for n lines of any sane length.
	const maxTail = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTail {
		_, _ = f.Seek(-maxTail, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return tail(b, n)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
