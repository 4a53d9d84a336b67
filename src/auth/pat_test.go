package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewPATHasTheDocumentedForm(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		secret, prefix, hash, err := NewPAT()
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(secret, PATMarker)
		if !ok {
			t.Fatalf("%q lacks the marker", secret)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) < 32 {
			t.Fatalf("%q: %d random bytes (%v), want at least 32 in base64url", secret, len(raw), err)
		}
		if prefix != secret[:16] || hash != sha256.Sum256([]byte(secret)) {
			t.Fatalf("prefix %q or hash does not follow the secret %q", prefix, secret)
		}
		if seen[secret] {
			t.Fatal("the same secret twice")
		}
		seen[secret] = true
	}
}

func TestPATSecretRecognisesOnlyPATs(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer eoscperf_abc", "eoscperf_abc", true},
		{"Bearer  eoscperf_abc ", "eoscperf_abc", true},
		{"Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "", false},
		{"bearer eoscperf_abc", "", false}, // not a bearer header: the OIDC path answers it
		{"eoscperf_abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := PATSecret(tt.header)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("PATSecret(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
