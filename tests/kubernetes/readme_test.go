package kubernetes

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's Kubernetes part shows the whole path: build, the secrets the
// default manifests mount (by name and key), the TLS secret, apply, upgrade.
func TestReadmeKubernetesSection(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(raw), "\n### Kubernetes")
	if !found {
		t.Fatal(`README.md has no "### Kubernetes" section`)
	}
	if next := regexp.MustCompile(`\n#{2,3} `).FindStringIndex(section); next != nil {
		section = section[:next[0]]
	}
	for _, want := range []string{"nix build .#kubernetes", "nix build .#kubernetes-dev", "kubectl apply -f result",
		"kubectl create namespace eosc-perf", "nix build .#image", "Upgrading", "rollout status", "init container"} {
		if !strings.Contains(section, want) {
			t.Errorf("the Kubernetes section does not mention %q", want)
		}
	}

	// Every Secret the production manifests mount, with every key, has its
	// `kubectl create secret` in the section.
	m := generate(t, prodDefaults)
	keys := map[string][]string{}
	for _, p := range pods(m) {
		for _, v := range p.spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if !slices.Contains(keys[v.Secret.SecretName], it.Key) {
					keys[v.Secret.SecretName] = append(keys[v.Secret.SecretName], it.Key)
				}
			}
		}
	}
	if len(keys) == 0 {
		t.Fatal("the production manifests mount no Secret")
	}
	for name, ks := range keys {
		cmd := regexp.MustCompile(`kubectl -n ` + m.ns[0].Name + ` create secret generic ` + regexp.QuoteMeta(name) + `((?: \\\n)?\s*--from-file=\S+)+`).FindString(section)
		if cmd == "" {
			t.Errorf("no `kubectl -n %s create secret generic %s --from-file=…` in the section", m.ns[0].Name, name)
			continue
		}
		for _, k := range ks {
			if !strings.Contains(cmd, "--from-file="+k+"=") {
				t.Errorf("%q does not create the key %s", cmd, k)
			}
		}
	}
	for _, ing := range m.ings {
		for _, tls := range ing.Spec.TLS {
			if !strings.Contains(section, "kubectl -n "+m.ns[0].Name+" create secret tls "+tls.SecretName+" ") {
				t.Errorf("the section does not create the TLS secret %s", tls.SecretName)
			}
		}
	}
}
