package registry

import (
	"reflect"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []challenge
	}{
		{"Docker Hub challenge",
			[]string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`},
			[]challenge{{"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/ubuntu:pull"}}}},
		{"unquoted values, spaces and case",
			[]string{`BEARER Realm=https://r.test/t , Service=reg`},
			[]challenge{{"bearer", map[string]string{"realm": "https://r.test/t", "service": "reg"}}}},
		{"escaped quote in a value",
			[]string{`Bearer realm="https://r.test/t",error="a \"b\""`},
			[]challenge{{"bearer", map[string]string{"realm": "https://r.test/t", "error": `a "b"`}}}},
		{"two challenges in one header",
			[]string{`Basic realm="x", Bearer realm="https://r.test/t"`},
			[]challenge{{"basic", map[string]string{"realm": "x"}}, {"bearer", map[string]string{"realm": "https://r.test/t"}}}},
		{"two headers",
			[]string{`Basic realm="x"`, `Bearer realm="https://r.test/t"`},
			[]challenge{{"basic", map[string]string{"realm": "x"}}, {"bearer", map[string]string{"realm": "https://r.test/t"}}}},
		{"unterminated quote keeps the rest",
			[]string{`Bearer realm="https://r.test/t`},
			[]challenge{{"bearer", map[string]string{"realm": "https://r.test/t"}}}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseChallenges(tt.values); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseChallenges(%q) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}

func TestBearerChallengeNeedsARealm(t *testing.T) {
	if _, ok := bearerChallenge([]string{`Bearer service="x"`}); ok {
		t.Error("Bearer challenge without realm was accepted")
	}
	if _, ok := bearerChallenge([]string{`Basic realm="x"`}); ok {
		t.Error("Basic challenge was taken for Bearer")
	}
	ch, ok := bearerChallenge([]string{`Basic realm="x"`, `Bearer realm="https://r.test/t"`})
	if !ok || ch.params["realm"] != "https://r.test/t" {
		t.Errorf("bearerChallenge = %v, %v", ch, ok)
	}
}
