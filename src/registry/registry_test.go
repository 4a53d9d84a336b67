package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

const prefix = "Could not validate container image: "

// wantReason asserts that err is the 422 of API.md §8.4 with reason.
func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var pe *perf.Error
	if !errors.As(err, &pe) || pe.Kind != perf.Invalid {
		t.Fatalf("Check = %v (%T), want Invalid *perf.Error", err, err)
	}
	if pe.Msg != prefix+reason {
		t.Fatalf("message %q, want %q", pe.Msg, prefix+reason)
	}
}

func TestCheckOutcomes(t *testing.T) {
	const image, tag = "ubuntu", "22.04"
	const exists = "registry-1.docker.io/library/ubuntu:22.04"
	tests := []struct {
		name   string
		setup  func(f *fakeRegistry)
		reason string // empty: success
		log    []string
	}{
		{"existing image is found through the token flow",
			func(f *fakeRegistry) { f.auth, f.images[exists] = true, true }, "",
			[]string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04", "GET auth.test /token",
				"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"existing image is found without authentication",
			func(f *fakeRegistry) { f.images[exists] = true }, "",
			[]string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"token in access_token is used",
			func(f *fakeRegistry) {
				f.auth, f.images[exists] = true, true
				f.tokenBody = `{"access_token":"` + fakeToken + `"}`
			}, "", nil},
		{"registry without HEAD is asked with GET",
			func(f *fakeRegistry) { f.noHead, f.images[exists] = true, true }, "",
			[]string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04", "GET registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"missing tag is manifest not found",
			func(f *fakeRegistry) { f.auth = true }, "Error: manifest not found", nil},
		{"token refused by the realm is not authorized",
			func(f *fakeRegistry) { f.auth, f.tokenStatus, f.images[exists] = true, http.StatusUnauthorized, true },
			"Error: not authorized", nil},
		{"token forbidden by the realm is not authorized",
			func(f *fakeRegistry) { f.auth, f.tokenStatus, f.images[exists] = true, http.StatusForbidden, true },
			"Error: not authorized", nil},
		{"registry still refusing with the token is not authorized",
			func(f *fakeRegistry) { f.auth, f.stillDenied, f.images[exists] = true, true, true },
			"Error: not authorized",
			[]string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04", "GET auth.test /token",
				"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"Basic challenge is not authorized without asking for a token",
			func(f *fakeRegistry) { f.auth, f.basicOnly, f.images[exists] = true, true, true },
			"Error: not authorized", []string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"server error is pulling manifest",
			func(f *fakeRegistry) { f.status = http.StatusInternalServerError }, "Error: pulling manifest", nil},
		{"realm error is pulling manifest",
			func(f *fakeRegistry) { f.auth, f.tokenStatus = true, http.StatusBadGateway }, "Error: pulling manifest", nil},
		{"plain-http realm is refused without asking it",
			func(f *fakeRegistry) { f.auth, f.realm, f.images[exists] = true, "http://auth.test/token", true },
			"Error: token realm is not an https URL", []string{"HEAD registry-1.docker.io /v2/library/ubuntu/manifests/22.04"}},
		{"realm answer without a token is invalid",
			func(f *fakeRegistry) { f.auth, f.tokenBody = true, `{"expires_in":60}` }, "Error: invalid token response", nil},
		{"realm answer that is not JSON is invalid",
			func(f *fakeRegistry) { f.auth, f.tokenBody = true, `<html>` }, "Error: invalid token response", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			tt.setup(f)
			err := f.checker(5*time.Second).Check(context.Background(), image, tag)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
			} else {
				wantReason(t, err, tt.reason)
			}
			if tt.log != nil && !slices.Equal(f.log(), tt.log) {
				t.Errorf("requests %q, want %q", f.log(), tt.log)
			}
		})
	}
}

func TestCheckAsksForEveryManifestKindAndScope(t *testing.T) {
	f := newFakeRegistry(t)
	f.auth, f.images["registry-1.docker.io/library/ubuntu:22.04"] = true, true
	if err := f.checker(5*time.Second).Check(context.Background(), "ubuntu", "22.04"); err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json",
	} {
		if !slices.Contains(f.accepts, mt) {
			t.Errorf("Accept %q misses %s", f.accepts, mt)
		}
	}
	if want := "scope=repository%3Alibrary%2Fubuntu%3Apull&service=registry.test"; len(f.queries) != 1 || f.queries[0] != want {
		t.Errorf("token queries %q, want [%s]", f.queries, want)
	}
}

func TestRegistrySelection(t *testing.T) {
	tests := []struct {
		name  string
		hub   string
		image string
		want  string // first request
	}{
		{"one-component name is an official Docker Hub image", "", "ubuntu", "HEAD registry-1.docker.io /v2/library/ubuntu/manifests/v1"},
		{"user/image is on Docker Hub", "", "user/img", "HEAD registry-1.docker.io /v2/user/img/manifests/v1"},
		{"docker.io prefix is Docker Hub", "", "docker.io/ubuntu", "HEAD registry-1.docker.io /v2/library/ubuntu/manifests/v1"},
		{"first component with a dot is the registry", "", "ghcr.io/org/img", "HEAD ghcr.io /v2/org/img/manifests/v1"},
		{"registry with a port", "", "registry.test:443/a/b/c", "HEAD registry.test:443 /v2/a/b/c/manifests/v1"},
		{"localhost is a registry", "", "localhost/img", "HEAD localhost /v2/img/manifests/v1"},
		{"Docker Hub host can be overridden", "hub.test", "ubuntu", "HEAD hub.test /v2/library/ubuntu/manifests/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			f.status = http.StatusOK
			c := New(Options{HTTPClient: f.client(), Timeout: 5 * time.Second, DockerHubRegistry: tt.hub, AllowPrivate: true})
			if err := c.Check(context.Background(), tt.image, "v1"); err != nil {
				t.Fatal(err)
			}
			if log := f.log(); len(log) != 1 || log[0] != tt.want {
				t.Errorf("requests %q, want [%s]", log, tt.want)
			}
		})
	}
}

func TestInvalidReferencesNeverReachTheNetwork(t *testing.T) {
	tests := []struct {
		name, image, tag, reason string
	}{
		{"path traversal", "../../x", "latest", `invalid image name "../../x": bad registry host ".."`},
		{"space in the name", "my image", "latest", `invalid image name "my image"`},
		{"uppercase name", "Ubuntu", "latest", `invalid image name "Ubuntu"`},
		{"tag inside the name", "ubuntu:20.04", "latest", `invalid image name "ubuntu:20.04"`},
		{"digest inside the name", "ubuntu@sha256:abc", "latest", `invalid image name "ubuntu@sha256:abc"`},
		{"empty component", "a//b", "latest", `invalid image name "a//b"`},
		{"empty name", "", "latest", "image name is empty"},
		{"name too long", strings.Repeat("a", 256), "latest", "image name is longer than 255 characters"},
		{"port out of range", "registry.test:99999/x", "latest", `invalid image name "registry.test:99999/x": bad registry host "registry.test:99999"`},
		{"host label starting with a dash", "-bad.test/x", "latest", `invalid image name "-bad.test/x": bad registry host "-bad.test"`},
		{"empty tag", "ubuntu", "", "tag is empty"},
		{"tag starting with a dot", "ubuntu", ".x", `invalid tag ".x"`},
		{"tag with a slash", "ubuntu", "a/../b", `invalid tag "a/../b"`},
		{"tag with a space", "ubuntu", "a b", `invalid tag "a b"`},
		{"tag too long", "ubuntu", strings.Repeat("a", 129), "tag is longer than 128 characters"},
	}
	f := newFakeRegistry(t)
	c := f.checker(5 * time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReason(t, c.Check(context.Background(), tt.image, tt.tag), tt.reason)
		})
	}
	if log := f.log(); len(log) != 0 {
		t.Fatalf("invalid references reached the registry: %q", log)
	}
}

func TestClosedPortIsAClearBoundedFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := New(Options{HTTPClient: &http.Client{Transport: &http.Transport{}}, Timeout: 3 * time.Second, AllowPrivate: true})
	start := time.Now()
	err = c.Check(context.Background(), addr+"/x/y", "latest")
	wantReason(t, err, "Error: connection refused by "+addr)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("check took %s, beyond its timeout", d)
	}
}

func TestSlowRegistryTimesOut(t *testing.T) {
	f := newFakeRegistry(t)
	f.slow = 10 * time.Second
	start := time.Now()
	err := f.checker(200*time.Millisecond).Check(context.Background(), "ubuntu", "latest")
	wantReason(t, err, "Error: timeout after 200ms asking registry-1.docker.io")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("check took %s with a 200ms timeout", d)
	}
}

func TestUntrustedCertificateIsRefused(t *testing.T) {
	f := newFakeRegistry(t)
	f.status = http.StatusOK
	client := f.client()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs = nil // system roots only
	err := New(Options{HTTPClient: client, Timeout: 5 * time.Second, AllowPrivate: true}).Check(context.Background(), "ghcr.io/org/img", "v1")
	wantReason(t, err, "Error: TLS certificate of ghcr.io is not trusted")
}

func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	f := newFakeRegistry(t)
	f.redirect = "http://registry.test/v2/org/img/manifests/v1"
	err := f.checker(5*time.Second).Check(context.Background(), "ghcr.io/org/img", "v1")
	wantReason(t, err, "Error: redirect to a non-https URL")
}

func TestNewAppliesDefaults(t *testing.T) {
	c := New(Options{})
	if c.timeout != DefaultTimeout || c.hub != DefaultDockerHubRegistry || c.client == nil {
		t.Fatalf("New(Options{}) = %+v", c)
	}
	given := &http.Client{}
	New(Options{HTTPClient: given})
	if given.CheckRedirect != nil {
		t.Fatal("New changed the caller's client")
	}
}

// TestNonPublicAddressesAreRefused: by default the checker connects to no
// loopback, private or link-local address, so users cannot make the server
// probe its own network; the refusal says nothing about what is there.
func TestNonPublicAddressesAreRefused(t *testing.T) {
	f := newFakeRegistry(t)
	f.status = http.StatusOK
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// The fake's own address and other non-public ones; no name that needs
	// DNS (the guard runs after resolution, so localhost is enough to show
	// that names are covered too).
	c := New(Options{HTTPClient: f.client(), Timeout: 3 * time.Second})
	for _, image := range []string{f.srv.Listener.Addr().String() + "/org/img", closed + "/x/y", "localhost:5000/x", "10.1.2.3:5000/x"} {
		err := c.Check(context.Background(), image, "v1")
		wantReason(t, err, "Error: registry host not found or address not allowed")
	}
	if log := f.log(); len(log) != 0 {
		t.Fatalf("the registry on loopback got requests: %v", log)
	}
	for _, tc := range []struct {
		addr   string
		public bool
	}{{"8.8.8.8", true}, {"2001:4860::8888", true}, {"127.0.0.1", false}, {"10.0.0.1", false}, {"172.16.0.1", false},
		{"192.168.1.1", false}, {"169.254.169.254", false}, {"100.64.0.1", false}, {"198.18.1.2", false}, {"::1", false},
		{"fd00::1", false}, {"fe80::1", false}, {"0.0.0.0", false}, {"224.0.0.1", false},
		// NAT64 and 6to4 addresses wrapping private IPv4 addresses.
		{"64:ff9b::10.0.0.1", false}, {"64:ff9b::127.0.0.1", false}, {"64:ff9b::169.254.169.254", false},
		{"64:ff9b::8.8.8.8", true}, {"64:ff9b:1::a00:1", false}, {"2002:a00:1::1", false}, {"2002:808:808::1", true},
		{"::ffff:10.0.0.1", false}} {
		if got := refusePrivate("tcp", net.JoinHostPort(tc.addr, "443"), nil) == nil; got != tc.public {
			t.Errorf("%s allowed = %v, want %v", tc.addr, got, tc.public)
		}
	}
}

// TestUnknownHostAndPrivateAddressGiveTheSameAnswer: while non-public
// addresses are refused, a host that does not resolve gets the same reason
// as one that resolves to a private address, so users cannot probe which
// internal names exist. (.onion names fail resolution inside Go without any
// DNS query, RFC 7686.)
func TestUnknownHostAndPrivateAddressGiveTheSameAnswer(t *testing.T) {
	c := New(Options{Timeout: 3 * time.Second})
	missing := c.Check(context.Background(), "registry.example.onion/x/y", "v1")
	private := c.Check(context.Background(), "10.1.2.3:5000/x", "v1")
	wantReason(t, missing, "Error: registry host not found or address not allowed")
	wantReason(t, private, "Error: registry host not found or address not allowed")

	// With private addresses allowed (an internal registry), the cause is
	// told as it is.
	allowed := New(Options{Timeout: 3 * time.Second, AllowPrivate: true})
	err := allowed.Check(context.Background(), "registry.example.onion/x/y", "v1")
	var pe *perf.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "registry.example.onion") {
		t.Fatalf("with private addresses allowed: %v, want the host named", err)
	}
}
