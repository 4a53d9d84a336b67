package kubernetes

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func intstrName(s string) intstr.IntOrString { return intstr.FromString(s) }

// nixString quotes s as a Nix string literal.
func nixString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
