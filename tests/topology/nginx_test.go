package topology

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The proxy's public path of the API (services.eosc-perf.proxy.apiPrefix).
const apiPrefix = "/api/v1"

// nginxConfig is what nix/module-proxy.nix has nixpkgs' nginx module write
// (upstream block with passive health checks, HTTP → HTTPS redirect, TLS,
// recommendedProxySettings' headers, the API under apiPrefix with the
// prefix stripped and X-Script-Name, the frontend root with the SPA
// fallback), in a form Debian's nginx runs without root's directories. The
// access log records which upstream served each request.
func nginxConfig(dir, cert, key, www string) string {
	r := strings.NewReplacer("@DIR@", dir, "@CERT@", cert, "@KEY@", key, "@WWW@", www,
		"@FRONT@", proxyFrontAddr, "@API1@", api1Addr, "@API2@", api2Addr, "@PREFIX@", apiPrefix)
	return r.Replace(`daemon off;
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log info;
events { worker_connections 64; }
http {
	log_format upstream '$request_uri $status $upstream_addr';
	access_log @DIR@/access.log upstream;
	client_body_temp_path @DIR@/tmp/body;
	proxy_temp_path @DIR@/tmp/proxy;
	fastcgi_temp_path @DIR@/tmp/fastcgi;
	uwsgi_temp_path @DIR@/tmp/uwsgi;
	scgi_temp_path @DIR@/tmp/scgi;
	types { text/html html; application/javascript js; }

	upstream eosc-perf-api {
		server @API1@:5000 max_fails=3 fail_timeout=10s;
		server @API2@:5000 max_fails=3 fail_timeout=10s;
		keepalive 16;
	}
	server {
		listen @FRONT@:80;
		server_name perf.test;
		location / { return 301 https://$host$request_uri; }
	}
	server {
		listen @FRONT@:443 ssl;
		server_name perf.test;
		ssl_certificate @CERT@;
		ssl_certificate_key @KEY@;
		ssl_protocols TLSv1.2 TLSv1.3;
		location @PREFIX@/ {
			proxy_pass http://eosc-perf-api/;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Real-IP $remote_addr;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-Host $host;
			proxy_set_header X-Forwarded-Server $hostname;
			proxy_set_header X-Script-Name @PREFIX@;
			proxy_next_upstream error timeout http_502 http_503 http_504;
			proxy_next_upstream_tries 2;
			proxy_connect_timeout 2s;
		}
		location / {
			root @WWW@;
			try_files $uri $uri/ /index.html;
		}
	}
}
`)
}

// nginxBinary finds Debian's nginx (package nginx, installed by .ci/run).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	needTool(t, "nginx", "nginx") // skips, or fails in CI
	return ""
}

// startNginx writes the configuration into dir and runs nginx in namespace
// ns; it is stopped (and the namespace's removal kills what is left) at the
// end of the test. It returns the access log's path once the client
// reaches it.
func startNginx(t *testing.T, ns, client, dir, cert, key, www string) string {
	t.Helper()
	bin := nginxBinary(t)
	for _, sub := range []string{"tmp", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, cert, key, www)), 0o644); err != nil {
		t.Fatal(err)
	}
	// -e: the error log before the configuration is read (nginx >= 1.19.5).
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	logFile, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done, err := startInNamespace(ns, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	// Ready when the client reaches port 443.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ok, _ := probe(t, client, "tcp", proxyFrontAddr+":443"); ok {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("nginx exited (%v):\n%s\n%s", err, logTail(filepath.Join(dir, "nginx.out")), logTail(filepath.Join(dir, "error.log")))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer on %s:443:\n%s", proxyFrontAddr, logTail(filepath.Join(dir, "error.log")))
		}
	}
	return filepath.Join(dir, "access.log")
}
