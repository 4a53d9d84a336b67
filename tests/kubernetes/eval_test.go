package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// repoRoot is the repository root, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// nixInstantiate returns the path of nix-instantiate. Without it the test
// skips with a message naming the Debian package, except in CI (CI=true),
// where it fails.
func nixInstantiate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nix-instantiate not found in CI: the Kubernetes manifests cannot be checked (.ci/run must install Debian's nix-bin)")
	}
	t.Skip("nix-instantiate not found: the Kubernetes manifest checks did NOT run (apt-get install nix-bin to run them)")
	return ""
}

// readInputs reads the files the evaluation reads, so that `go test`
// re-runs the tests when one of them changes instead of reporting a cached
// result.
func readInputs(t testing.TB) {
	t.Helper()
	root := repoRoot(t)
	for _, p := range []string{"nix/kubernetes.nix", "nix/version.nix", "nix/image.nix", "src/app/version.go", "README.md"} {
		if _, err := os.ReadFile(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
}

// evalNix evaluates `import nix/kubernetes.nix <args>` strictly to JSON.
func evalNix(t testing.TB, args string) (stdout, stderr []byte, err error) {
	t.Helper()
	bin := nixInstantiate(t)
	readInputs(t)
	expr := fmt.Sprintf("import (%s + \"/nix/kubernetes.nix\") (%s)", nixString(repoRoot(t)), args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--readonly-mode", "--eval", "--strict", "--json", "--expr", expr)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// manifests are the decoded objects of one evaluation, in order, and by kind.
type manifests struct {
	args    string
	raw     []byte
	order   []string // kind/name, in the List's order
	ns      []corev1.Namespace
	cms     []corev1.ConfigMap
	svcs    []corev1.Service
	pvcs    []corev1.PersistentVolumeClaim
	deps    []appsv1.Deployment
	sts     []appsv1.StatefulSet
	crons   []batchv1.CronJob
	ings    []networkingv1.Ingress
	pdbs    []policyv1.PodDisruptionBudget
	netpols []networkingv1.NetworkPolicy
}

// strict decodes data into out as the API server's strict field validation
// does: case-sensitive field names, unknown and duplicate fields are errors.
func strict(data []byte, out any) error {
	strictErrs, err := kjson.UnmarshalStrict(data, out, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// decodeList decodes a `v1` `List` strictly, item by item into the typed
// object its apiVersion and kind name; any other kind is an error.
func decodeList(data []byte) (*manifests, error) {
	var list corev1.List
	if err := strict(data, &list); err != nil {
		return nil, fmt.Errorf("the List: %w", err)
	}
	if list.APIVersion != "v1" || list.Kind != "List" {
		return nil, fmt.Errorf("top level is %s %s, want v1 List", list.APIVersion, list.Kind)
	}
	m := &manifests{raw: data}
	for i, item := range list.Items {
		var tm metav1.TypeMeta
		if err := json.Unmarshal(item.Raw, &tm); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		var obj metav1.Object
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			obj, err = decodeInto(item.Raw, &m.ns)
		case "v1 ConfigMap":
			obj, err = decodeInto(item.Raw, &m.cms)
		case "v1 Service":
			obj, err = decodeInto(item.Raw, &m.svcs)
		case "v1 PersistentVolumeClaim":
			obj, err = decodeInto(item.Raw, &m.pvcs)
		case "apps/v1 Deployment":
			obj, err = decodeInto(item.Raw, &m.deps)
		case "apps/v1 StatefulSet":
			obj, err = decodeInto(item.Raw, &m.sts)
		case "batch/v1 CronJob":
			obj, err = decodeInto(item.Raw, &m.crons)
		case "networking.k8s.io/v1 Ingress":
			obj, err = decodeInto(item.Raw, &m.ings)
		case "policy/v1 PodDisruptionBudget":
			obj, err = decodeInto(item.Raw, &m.pdbs)
		case "networking.k8s.io/v1 NetworkPolicy":
			obj, err = decodeInto(item.Raw, &m.netpols)
		default:
			return nil, fmt.Errorf("item %d: unexpected apiVersion %q kind %q", i, tm.APIVersion, tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("item %d (%s): %w", i, tm.Kind, err)
		}
		m.order = append(m.order, tm.Kind+"/"+obj.GetName())
	}
	return m, nil
}

// decodeInto decodes raw strictly into a new T and appends it to *list.
func decodeInto[T any, PT interface {
	*T
	metav1.Object
}](raw []byte, list *[]T) (metav1.Object, error) {
	var v T
	if err := strict(raw, &v); err != nil {
		return nil, err
	}
	*list = append(*list, v)
	return PT(&(*list)[len(*list)-1]), nil
}

var (
	evalMu    sync.Mutex
	evalCache = map[string]*manifests{}
)

// generate evaluates the generator with args (a Nix attribute set) and
// decodes the result; evaluations are shared between the tests.
func generate(t testing.TB, args string) *manifests {
	t.Helper()
	nixInstantiate(t)
	evalMu.Lock()
	defer evalMu.Unlock()
	if m, ok := evalCache[args]; ok {
		return m
	}
	out, errOut, err := evalNix(t, args)
	if err != nil {
		t.Fatalf("nix-instantiate --eval of nix/kubernetes.nix %s: %v\n%s", args, err, errOut)
	}
	m, err := decodeList(out)
	if err != nil {
		t.Fatalf("nix/kubernetes.nix %s: %v", args, err)
	}
	m.args = args
	evalCache[args] = m
	return m
}

func TestStrictDecodingRejectsWhatTheAPIServerWould(t *testing.T) {
	t.Parallel()
	good := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"X":"1"}}]}`
	if _, err := decodeList([]byte(good)); err != nil {
		t.Fatalf("a valid List: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":   `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"dat":{"X":"1"}}]}`,
		"wrong case":      `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"Name":"a"}}]}`,
		"duplicate field": `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b"}}]}`,
		"unknown kind":    `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}]}`,
		"bad quantity":    `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"a"},"spec":{"resources":{"requests":{"storage":"ten gigs"}}}}]}`,
		"wrong type":      `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"replicas":"2"}}]}`,
		"not a List":      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`,
	} {
		if _, err := decodeList([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
