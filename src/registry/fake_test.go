package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNames are the host names the fake registry's certificate is valid
// for. The test client dials every one of them to the fake on 127.0.0.1, so
// no test traffic ever leaves the machine.
var fakeNames = []string{"registry-1.docker.io", "hub.test", "ghcr.io", "registry.test", "auth.test", "localhost"}

// fakeRegistry is a Docker Registry v2 manifest endpoint plus a token
// realm, over HTTPS.
type fakeRegistry struct {
	srv *httptest.Server

	// Configuration, set before requests are made.
	images      map[string]bool // "host/path:tag" that exist
	auth        bool            // manifests need the token issued by /token
	realm       string          // realm announced in the challenge (default https://auth.test/token)
	basicOnly   bool            // challenge with Basic instead of Bearer
	tokenStatus int             // non-zero: /token answers this status
	tokenBody   string          // non-empty: /token answers this body
	stillDenied bool            // manifests answer 401 even with the token
	status      int             // non-zero: manifests answer this status
	noHead      bool            // HEAD answers 405 (GET works)
	slow        time.Duration   // manifests wait this long (or until the client leaves)
	redirect    string          // non-empty: manifests redirect here

	mu       sync.Mutex
	requests []string // "METHOD host path", in order
	accepts  []string // Accept values of the last manifest request
	queries  []string // raw queries of the token requests
}

const fakeToken = "anonymous-pull-token"

func newFakeRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{images: map[string]bool{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, fakeNames)}}
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.Host+" "+r.URL.Path)
	f.mu.Unlock()
	if r.URL.Path == "/token" {
		f.serveToken(w, r)
		return
	}
	name, tag, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
	if !ok || !strings.HasPrefix(r.URL.Path, "/v2/") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.accepts = r.Header.Values("Accept")
	f.mu.Unlock()
	if f.slow > 0 {
		select {
		case <-time.After(f.slow):
		case <-r.Context().Done():
			// The client gave up: answer nothing (returning would send 200).
			panic(http.ErrAbortHandler)
		}
	}
	if f.auth && (f.stillDenied || r.Header.Get("Authorization") != "Bearer "+fakeToken) {
		realm := f.realm
		if realm == "" {
			realm = "https://auth.test/token"
		}
		if f.basicOnly {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		} else {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s",service="registry.test",scope="repository:%s:pull"`, realm, name))
		}
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case f.redirect != "":
		http.Redirect(w, r, f.redirect, http.StatusTemporaryRedirect)
	case f.noHead && r.Method == http.MethodHead:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case f.status != 0:
		w.WriteHeader(f.status)
	case f.images[r.Host+"/"+name+":"+tag]:
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		_, _ = w.Write([]byte(`{"schemaVersion":2,"manifests":[]}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeRegistry) serveToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	f.mu.Unlock()
	if f.tokenStatus != 0 {
		w.WriteHeader(f.tokenStatus)
		return
	}
	if f.tokenBody != "" {
		_, _ = w.Write([]byte(f.tokenBody))
		return
	}
	if r.URL.Query().Get("service") != "registry.test" || !strings.HasPrefix(r.URL.Query().Get("scope"), "repository:") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"token": fakeToken})
}

func (f *fakeRegistry) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// client trusts the fake's certificate and dials every address to the fake.
func (f *fakeRegistry) client() *http.Client {
	addr := f.srv.Listener.Addr().String()
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.TLS.Certificates[0].Leaf)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// checker returns a Checker that reaches only the fake.
func (f *fakeRegistry) checker(timeout time.Duration) *Checker {
	return New(Options{HTTPClient: f.client(), Timeout: timeout, AllowPrivate: true})
}

// selfSigned returns a certificate for names and 127.0.0.1 that is its own
// CA, so a pool holding it trusts it.
func selfSigned(t *testing.T, names []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "fake registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
