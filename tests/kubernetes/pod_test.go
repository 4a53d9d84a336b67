package kubernetes

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/app"
	"github.com/eosc-perf/api/src/pgtest"
)

// The API pod as the manifests declare it, run in-process against a
// throwaway PostgreSQL: two pods' migration init containers at once (the
// advisory lock lets one migrate, the other finds nothing to do), then the
// server with exactly the pod's environment — but the database's address,
// the secret files' places and a loopback listener — answering its probes
// and, with the Ingress's X-Script-Name, under BACKEND_ROUTE.
func TestAPIPodStartsMigratesAndAnswersItsProbes(t *testing.T) {
	t.Parallel()
	nixInstantiate(t)
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	m := generate(t, `{ adminEntitlements = [ ]; backendRoute = "/api/v1"; database = { name = `+
		nixString(strings.TrimPrefix(u.Path, "/"))+`; user = `+nixString(u.User.Username())+`; port = `+u.Port()+`; }; }`)
	d := one(t, "Deployment", m.deps)
	spec := d.Spec.Template.Spec
	c := container(t, spec, "api")
	env := settings(t, m, *c)

	// Outside the cluster: the database Service's name, the Secret volume's
	// files, the pod's own address.
	dir := t.TempDir()
	svc := serviceSelecting(t, m, one(t, "StatefulSet", m.sts).Spec.Template.Labels)
	if env["DB_HOST"] != svc.Name {
		t.Fatalf("DB_HOST %q, want the database Service %s", env["DB_HOST"], svc.Name)
	}
	env["DB_HOST"] = u.Hostname()
	secrets := map[string]string{"secret-key": "k8s-test-secret-key", "db-password": password}
	for k, v := range env {
		if !strings.HasSuffix(k, "_FILE") {
			continue
		}
		content, ok := secrets[path.Base(v)]
		if !ok {
			t.Fatalf("%s=%s: no such key of the Secret", k, v)
		}
		local := filepath.Join(dir, path.Base(v))
		if err := os.WriteFile(local, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env[k] = local
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["LISTEN_ADDR"] = addr
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The init containers of two pods starting together.
	mc := spec.InitContainers[0]
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 2)
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = app.Run(ctx, append([]string{"eosc-perf-api"}, mc.Args...), lookup, &outs[i], &outs[i])
		}()
	}
	wg.Wait()
	for i := range 2 {
		if codes[i] != 0 {
			t.Fatalf("init container %s of pod %d exited %d:\n%s", mc.Name, i, codes[i], outs[i].String())
		}
	}
	// `migrate up` says "no migration pending" when it found nothing to do.
	idle0 := strings.Contains(outs[0].String(), "no migration pending")
	idle1 := strings.Contains(outs[1].String(), "no migration pending")
	if idle0 == idle1 {
		t.Errorf("want exactly one pod to apply the migrations, the other to find none pending:\npod 0:\n%s\npod 1:\n%s", outs[0].String(), outs[1].String())
	}

	// The server container.
	var logs syncBuf
	srvCtx, stop := context.WithCancel(ctx)
	exited := make(chan int, 1)
	go func() { exited <- app.Run(srvCtx, append([]string{"eosc-perf-api"}, c.Args...), lookup, &logs, &logs) }()
	defer func() {
		stop()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("serve exited %d on SIGTERM's equivalent:\n%s", code, logs.String())
			}
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop within terminationGracePeriodSeconds")
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	status := func(p string, header http.Header) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+p, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	probe := c.StartupProbe.HTTPGet.Path
	deadline := time.Now().Add(time.Duration(c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold) * time.Second)
	for status(probe, nil) != http.StatusOK {
		select {
		case code := <-exited:
			t.Fatalf("serve exited %d before its start-up probe passed:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the start-up probe %s did not pass within its %d×%ds:\n%s", probe, c.StartupProbe.FailureThreshold, c.StartupProbe.PeriodSeconds, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		if got := status(p, nil); got != http.StatusOK {
			t.Errorf("probe %s: %d, want 200", p, got)
		}
	}
	ing := one(t, "Ingress", m.ings)
	sn := regexp.MustCompile(`X-Script-Name (\S+);`).FindStringSubmatch(ing.Annotations["nginx.ingress.kubernetes.io/configuration-snippet"])
	if sn == nil {
		t.Fatal("the Ingress sends no X-Script-Name")
	}
	prefix := ing.Spec.Rules[0].HTTP.Paths[0].Path
	if got := status(prefix+"/benchmarks", http.Header{"X-Script-Name": {sn[1]}}); got != http.StatusOK {
		t.Errorf("GET %s/benchmarks through the Ingress: %d, want 200", prefix, got)
	}
}

// syncBuf is a bytes.Buffer safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
