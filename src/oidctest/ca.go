package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"
)

// CA is a throwaway certificate authority. Each Provider serves TLS with a
// certificate issued by a CA; the client side trusts the provider by trusting
// the CA (CertPool, CertPEM or Client). Providers that share a CA (Options.CA)
// are all trusted by one pool.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// caLifetime bounds the CA and leaf certificates. A year comfortably outlives
// any test run or `eosc-perf-api-dev` session, and the keys die with the
// process anyway.
const caLifetime = 365 * 24 * time.Hour

// NewCA creates a CA with a fresh ECDSA P-256 key.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("oidctest: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "oidctest CA", Organization: []string{"eosc-perf-api oidctest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("oidctest: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("oidctest: CA certificate: %w", err)
	}
	return &CA{
		cert: cert,
		key:  key,
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// CertPEM returns the CA certificate, PEM encoded (for SSL_CERT_FILE-style
// configuration or curl --cacert).
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.pem...) }

// CertPool returns a new pool that holds only this CA.
func (c *CA) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(c.cert)
	return pool
}

// SystemCertPool returns the system's roots plus this CA, for a client that
// must reach real providers as well as this one.
func (c *CA) SystemCertPool() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("oidctest: system roots: %w", err)
	}
	pool.AddCert(c.cert)
	return pool, nil
}

// Client returns an HTTP client that trusts only this CA, with a timeout so a
// broken test cannot hang on it.
func (c *CA) Client() *http.Client { return ClientWithRoots(c.CertPool()) }

// ClientWithRoots returns an HTTP client that trusts the roots in pool, with
// a 10 s overall timeout.
func ClientWithRoots(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// issue returns a server certificate for the loopback names plus host (an IP
// address or a DNS name), signed by the CA.
func (c *CA) issue(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("oidctest: server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "oidctest provider"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(caLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("oidctest: server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serial returns a random 128-bit certificate serial number, so certificates
// of different runs never collide in a client's session cache.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ panics
		// instead); keep a valid, if predictable, serial just in case.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
