package topology

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A probe is this test binary run again inside a namespace, told by the
// environment what to try; it needs nothing installed in the namespaces.
const (
	probeEnv       = "EOSC_TOPOLOGY_PROBE"        // "tcp", "http" or "https"
	probeTargetEnv = "EOSC_TOPOLOGY_PROBE_TARGET" // host:port or URL
	probeCAEnv     = "EOSC_TOPOLOGY_PROBE_CA"     // https: the PEM file of the only trusted CA
)

// Short limits: an unreachable address must fail the probe quickly. A
// dropped SYN (firewall) takes the whole connect timeout.
const (
	connectTimeout = 2 * time.Second
	httpTimeout    = 5 * time.Second
)

// The main goroutine keeps the main OS thread to itself, so no goroutine of
// startInNamespace ever moves the main thread into another network namespace
// (/proc/self/ns/net, which `ip netns pids` reads, follows the main thread).
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	if kind := os.Getenv(probeEnv); kind != "" {
		os.Exit(runProbe(kind, os.Getenv(probeTargetEnv), os.Getenv(probeCAEnv), os.Stdout))
	}
	os.Exit(m.Run())
}

// runProbe is the probe process: "tcp" exits 0 when a connection to target
// is established; "http" GETs target and prints the status code (and the
// Location of a redirect, which it does not follow), exiting 0 when a
// response arrives; "https" does the same trusting only the CA in caFile,
// and prints the body after the status line.
func runProbe(kind, target, caFile string, out io.Writer) int {
	switch kind {
	case "tcp":
		c, err := net.DialTimeout("tcp", target, connectTimeout)
		if err != nil {
			fmt.Fprintln(out, err)
			return 1
		}
		c.Close()
		fmt.Fprintln(out, "connected")
		return 0
	case "http", "https":
		transport := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: connectTimeout}).DialContext}
		if kind == "https" {
			pool := x509.NewCertPool()
			if pem, err := os.ReadFile(caFile); err != nil || !pool.AppendCertsFromPEM(pem) {
				fmt.Fprintf(out, "no CA in %q: %v\n", caFile, err)
				return 2
			}
			transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		client := &http.Client{
			Timeout:       httpTimeout,
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := client.Get(target)
		if err != nil {
			fmt.Fprintln(out, err)
			return 1
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		status := fmt.Sprint(resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" {
			status += " " + loc
		}
		fmt.Fprintln(out, status)
		if kind == "https" {
			_, _ = out.Write(body)
		}
		return 0
	}
	fmt.Fprintf(out, "unknown probe %q\n", kind)
	return 2
}

// probe runs a probe in namespace ns and returns whether it succeeded and
// what it printed (an HTTP status code, or the error).
func probe(t *testing.T, ns, kind, target string) (bool, string) {
	t.Helper()
	return probeCA(t, ns, kind, target, "")
}

// probeCA is probe with the CA an "https" probe trusts.
func probeCA(t *testing.T, ns, kind, target, caFile string) (bool, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// A clean environment: no proxy settings can send the probe elsewhere.
	cmd.Env = []string{probeEnv + "=" + kind, probeTargetEnv + "=" + target, probeCAEnv + "=" + caFile}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	done, err := startInNamespace(ns, cmd)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		return err == nil, strings.TrimSpace(out.String())
	case <-time.After(connectTimeout + httpTimeout + 10*time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("probe %s %s from %s did not finish", kind, target, ns)
		return false, ""
	}
}
