package kubernetes

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eosc-perf/api/src/api"
	"github.com/eosc-perf/api/src/app"
	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// variant is one parameter set of the generator and what it must produce.
type variant struct {
	name      string
	args      string // a Nix attribute set
	dev       bool
	namespace string
	host      string // "" = any host
	tlsSecret string // "" = no TLS
	prefix    string // BACKEND_ROUTE as published
	replicas  int32
	external  bool
	dbPort    int32
	ingressNS string
	nginx     bool
}

// prodDefaults are the arguments of the flake's packages.<system>.kubernetes.
const prodDefaults = `{ adminEntitlements = [ "urn:mace:egi.eu:group:perf.eosc-synergy.eu:role=admin#aai.egi.eu" ]; }`

var variants = []variant{
	{
		name: "production defaults", args: prodDefaults,
		namespace: "eosc-perf", host: "perf.example.org", tlsSecret: "eosc-perf-api-tls", prefix: "/",
		replicas: 2, dbPort: 5432, ingressNS: "ingress-nginx", nginx: true,
	},
	{
		name: "development", args: "{ development = true; }", dev: true,
		namespace: "eosc-perf-dev", prefix: "/", replicas: 1, dbPort: 5432, ingressNS: "ingress-nginx", nginx: true,
	},
	{
		name: "production, prefix, 3 replicas, own names",
		args: `{ namespace = "perf"; host = "api.perf.example.org"; tlsSecret = "perf-cert"; ` +
			`backendRoute = "/api/v1/"; replicas = 3; adminEntitlements = [ "urn:a" "urn:b" ]; storageClassName = "fast"; ` +
			`settings = { MAIL_SERVER = "smtp.example.org"; CORS_ORIGINS = [ "https://a.example.org" "https://b.example.org" ]; }; }`,
		namespace: "perf", host: "api.perf.example.org", tlsSecret: "perf-cert", prefix: "/api/v1",
		replicas: 3, dbPort: 5432, ingressNS: "ingress-nginx", nginx: true,
	},
	{
		name: "production, external database, other ingress controller",
		args: `{ adminEntitlements = [ ]; database = { mode = "external"; host = "db.example.org"; port = 6432; name = "perf"; user = "perf"; }; ` +
			`ingressClassName = "traefik"; ingressControllerNamespace = "traefik"; createNamespace = false; ` +
			`backendRoute = "/perf"; ingressAnnotations = { "traefik.ingress.kubernetes.io/router.middlewares" = "perf-script-name@kubernetescrd"; }; }`,
		namespace: "eosc-perf", host: "perf.example.org", tlsSecret: "eosc-perf-api-tls", prefix: "/perf",
		replicas: 2, external: true, dbPort: 6432, ingressNS: "traefik",
	},
	{
		name: "development, external database",
		args: `{ development = true; database = { mode = "external"; host = "192.0.2.10"; }; }`, dev: true,
		namespace: "eosc-perf-dev", prefix: "/", replicas: 1, external: true, dbPort: 5432, ingressNS: "ingress-nginx", nginx: true,
	},
}

// forEachVariant runs f for every parameter set, in parallel.
func forEachVariant(t *testing.T, f func(t *testing.T, v variant, m *manifests)) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f(t, v, generate(t, v.args))
		})
	}
}

// namespaced returns the metadata of every namespaced object.
func namespaced(m *manifests) []metav1.Object {
	var out []metav1.Object
	out = appendObjects(out, m.cms)
	out = appendObjects(out, m.svcs)
	out = appendObjects(out, m.pvcs)
	out = appendObjects(out, m.deps)
	out = appendObjects(out, m.sts)
	out = appendObjects(out, m.crons)
	out = appendObjects(out, m.ings)
	out = appendObjects(out, m.pdbs)
	return appendObjects(out, m.netpols)
}

func appendObjects[T any, PT interface {
	*T
	metav1.Object
}](out []metav1.Object, list []T) []metav1.Object {
	for i := range list {
		out = append(out, PT(&list[i]))
	}
	return out
}

// pod is a pod template of a workload in the manifests.
type pod struct {
	kind, name string
	labels     map[string]string
	spec       corev1.PodSpec
}

func pods(m *manifests) []pod {
	var out []pod
	for _, d := range m.deps {
		out = append(out, pod{"Deployment", d.Name, d.Spec.Template.Labels, d.Spec.Template.Spec})
	}
	for _, s := range m.sts {
		out = append(out, pod{"StatefulSet", s.Name, s.Spec.Template.Labels, s.Spec.Template.Spec})
	}
	for _, c := range m.crons {
		tpl := c.Spec.JobTemplate.Spec.Template
		out = append(out, pod{"CronJob", c.Name, tpl.Labels, tpl.Spec})
	}
	return out
}

func allContainers(spec corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

func one[T any](t *testing.T, what string, list []T) *T {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("%d %s objects, want 1", len(list), what)
	}
	return &list[0]
}

func container(t *testing.T, spec corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// settings is what the API container's environment holds: the ConfigMaps it
// imports, then its own env (which wins, as in Kubernetes).
func settings(t *testing.T, m *manifests, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than a ConfigMap", c.Name)
		}
		found := false
		for _, cm := range m.cms {
			if cm.Name == from.ConfigMapRef.Name {
				found = true
				for k, v := range cm.Data {
					env[from.Prefix+k] = v
				}
			}
		}
		if !found {
			t.Fatalf("container %s imports ConfigMap %q, which the manifests lack", c.Name, from.ConfigMapRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("container %s: %s comes from %v; settings come from the ConfigMap, secrets as files", c.Name, e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}
	return env
}

// apiServer is the real HTTP handler of the API, without a database: what
// the probes and the Ingress's prefix are checked against.
func apiServer() http.Handler {
	return api.NewServer(api.Options{Logger: zerolog.Nop(), Ready: func(context.Context) error { return nil }})
}

func get(t *testing.T, h http.Handler, p string, header http.Header) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, p, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestObjectsPerVariant(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		count := func(n int, want int, what string) {
			if n != want {
				t.Errorf("%d %s, want %d (objects: %v)", n, what, want, m.order)
			}
		}
		withNS := 1
		if strings.Contains(v.args, "createNamespace = false") {
			withNS = 0
		}
		count(len(m.ns), withNS, "Namespaces")
		count(len(m.deps), 1, "Deployments")
		count(len(m.ings), 1, "Ingresses")
		count(len(m.cms), 1, "ConfigMaps")
		internal := 1
		if v.external {
			internal = 0
		}
		count(len(m.sts), internal, "StatefulSets")
		count(len(m.svcs), 1+internal, "Services")
		prod := 1
		if v.dev {
			prod = 0
		}
		count(len(m.pdbs), prod, "PodDisruptionBudgets")
		count(len(m.crons), prod*internal, "backup CronJobs")
		count(len(m.pvcs), prod*internal, "PersistentVolumeClaims (the backup's)")
		if v.dev && len(m.netpols) != 0 {
			t.Errorf("development has %d NetworkPolicies, want none", len(m.netpols))
		}
		if !v.dev && len(m.netpols) < 2 {
			t.Errorf("production has %d NetworkPolicies", len(m.netpols))
		}
		// kubectl applies a List in order: the Namespace before the rest.
		if withNS == 1 && m.order[0] != "Namespace/"+v.namespace {
			t.Errorf("first object %s, want the Namespace %s", m.order[0], v.namespace)
		}
		if withNS == 1 && m.ns[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("Namespace labels %v: want the restricted Pod Security Standard enforced", m.ns[0].Labels)
		}

		// Every namespaced object in the namespace, with a valid name and labels.
		seen := map[string]bool{}
		for _, o := range m.svcs {
			if errs := validation.IsDNS1035Label(o.Name); len(errs) > 0 {
				t.Errorf("Service name %q: %v", o.Name, errs)
			}
		}
		for _, o := range m.crons {
			// The Job name gets an 11-character suffix: 52 at most.
			if len(o.Name) > 52 {
				t.Errorf("CronJob name %q longer than 52", o.Name)
			}
		}
		for _, md := range namespaced(m) {
			if md.GetNamespace() != v.namespace {
				t.Errorf("%s is in namespace %q, want %q", md.GetName(), md.GetNamespace(), v.namespace)
			}
			if errs := validation.IsDNS1123Subdomain(md.GetName()); len(errs) > 0 {
				t.Errorf("name %q: %v", md.GetName(), errs)
			}
			for k, val := range md.GetLabels() {
				if errs := validation.IsQualifiedName(k); len(errs) > 0 {
					t.Errorf("%s: label key %q: %v", md.GetName(), k, errs)
				}
				if errs := validation.IsValidLabelValue(val); len(errs) > 0 {
					t.Errorf("%s: label %s=%q: %v", md.GetName(), k, val, errs)
				}
			}
		}
		for _, kn := range m.order {
			if seen[kn] {
				t.Errorf("%s twice", kn)
			}
			seen[kn] = true
		}

		// Workload selectors select their own pod templates (the API server
		// refuses them otherwise) and no other workload's pods.
		selectors := map[string]*metav1.LabelSelector{}
		for _, d := range m.deps {
			selectors["Deployment/"+d.Name] = d.Spec.Selector
		}
		for _, s := range m.sts {
			selectors["StatefulSet/"+s.Name] = s.Spec.Selector
		}
		for key, ls := range selectors {
			sel, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil || sel.Empty() {
				t.Errorf("%s: selector %v: %v", key, ls, err)
				continue
			}
			for _, p := range pods(m) {
				own := p.kind+"/"+p.name == key
				if got := sel.Matches(labels.Set(p.labels)); got != own {
					t.Errorf("%s's selector matches %s %s: %v, want %v", key, p.kind, p.name, got, own)
				}
			}
		}
	})
}

// The restricted Pod Security Standard, and more, for every pod: non-root,
// read-only root, no privilege escalation, no capabilities, seccomp
// RuntimeDefault, no host namespaces or paths, no service account token.
func TestPodsAreHardened(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		for _, p := range pods(m) {
			where := p.kind + "/" + p.name
			s := p.spec
			psc := s.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser and seccomp RuntimeDefault", where, psc)
			}
			if s.HostNetwork || s.HostPID || s.HostIPC {
				t.Errorf("%s: uses host namespaces", where)
			}
			if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
				t.Errorf("%s: mounts a service account token", where)
			}
			for _, vol := range s.Volumes {
				if vol.Secret == nil && vol.EmptyDir == nil && vol.PersistentVolumeClaim == nil && vol.ConfigMap == nil {
					t.Errorf("%s: volume %s of a kind the restricted standard may refuse", where, vol.Name)
				}
			}
			for _, c := range allContainers(s) {
				sc := c.SecurityContext
				if sc == nil {
					t.Errorf("%s/%s: no securityContext", where, c.Name)
					continue
				}
				if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Errorf("%s/%s: runAsNonRoot not set", where, c.Name)
				}
				if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
					t.Errorf("%s/%s: runs as root", where, c.Name)
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("%s/%s: root file system writable", where, c.Name)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s/%s: privilege escalation allowed", where, c.Name)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("%s/%s: privileged", where, c.Name)
				}
				if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
					t.Errorf("%s/%s: capabilities %+v, want drop ALL and add none", where, c.Name, sc.Capabilities)
				}
				if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s/%s: seccomp %+v, want RuntimeDefault", where, c.Name, sc.SeccompProfile)
				}
				if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
					t.Errorf("%s/%s: resources %+v: want CPU and memory requests and a memory limit", where, c.Name, c.Resources)
				}
				if c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
					t.Errorf("%s/%s: memory limit below the request", where, c.Name)
				}
				for _, p := range c.Ports {
					if p.HostPort != 0 {
						t.Errorf("%s/%s: hostPort %d", where, c.Name, p.HostPort)
					}
				}
			}
		}
	})
}

func TestAPIDeployment(t *testing.T) {
	server := apiServer()
	if got := get(t, server, "/no-such-path", nil); got != http.StatusNotFound {
		t.Fatalf("the API answers %d for an unknown path: the probe check below could not fail", got)
	}
	version := programVersion(t)
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		d := one(t, "Deployment", m.deps)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != v.replicas {
			t.Errorf("replicas %v, want %d", d.Spec.Replicas, v.replicas)
		}
		if !v.dev && *d.Spec.Replicas < 2 {
			t.Errorf("production with %d replicas", *d.Spec.Replicas)
		}
		st := d.Spec.Strategy
		if st.Type != "RollingUpdate" || st.RollingUpdate == nil || st.RollingUpdate.MaxUnavailable == nil ||
			st.RollingUpdate.MaxUnavailable.IntValue() != 0 || st.RollingUpdate.MaxSurge == nil || st.RollingUpdate.MaxSurge.IntValue() < 1 {
			t.Errorf("strategy %+v: want RollingUpdate with maxUnavailable 0 and a surge", st)
		}
		spec := d.Spec.Template.Spec
		if sc := spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65534 || sc.RunAsGroup == nil || *sc.RunAsGroup != 65534 {
			t.Errorf("pod securityContext %+v: want uid and gid 65534, the image's user", sc)
		}
		c := container(t, spec, "api")
		wantImage := "eosc-perf-api:" + version
		if c.Image != wantImage {
			t.Errorf("image %q, want the flake's image %q", c.Image, wantImage)
		}
		if !slices.Equal(c.Args, []string{"serve"}) {
			t.Errorf("args %q, want serve", c.Args)
		}

		// Resources from the measured peak RSS (~50 MiB, README): the
		// request covers it, the limit leaves room, GOMEMLIMIT is below it.
		peak := resource.MustParse("50Mi")
		req, lim := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
		if req.Cmp(peak) < 0 || lim.Value() < 3*peak.Value() || lim.Value() > 20*peak.Value() {
			t.Errorf("memory request %s, limit %s: want request >= 50Mi (measured peak RSS) and a limit of 3-20 times that", req, lim)
		}
		env := settings(t, m, *c)
		gml, err := parseGoMemLimit(env["GOMEMLIMIT"])
		if err != nil || gml <= req.Value() || gml >= lim.Value() {
			t.Errorf("GOMEMLIMIT %q (%v): want between the request and the limit", env["GOMEMLIMIT"], err)
		}

		// Probes: readiness /readyz, liveness (and start-up) /healthz, on the
		// container's port, and the API serves both paths.
		probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe}
		wantPath := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}
		for kind, p := range probes {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s probe %+v: want an HTTP GET", kind, p)
				continue
			}
			if p.HTTPGet.Path != wantPath[kind] {
				t.Errorf("%s probe path %q, want %q", kind, p.HTTPGet.Path, wantPath[kind])
			}
			if got := get(t, server, p.HTTPGet.Path, nil); got != http.StatusOK {
				t.Errorf("%s probe: the API answers %d on %s", kind, got, p.HTTPGet.Path)
			}
			if port := containerPort(t, *c, p.HTTPGet.Port); port != listenPort(t, env) {
				t.Errorf("%s probe on port %d, the API listens on %d", kind, port, listenPort(t, env))
			}
		}
		if c.LivenessProbe != nil && c.ReadinessProbe != nil && c.ReadinessProbe.TimeoutSeconds <= 3 {
			t.Errorf("readiness timeout %ds: /readyz may take 3 s for the database", c.ReadinessProbe.TimeoutSeconds)
		}

		// Migrations: an init container running `migrate up` with the same
		// image, settings, secrets and mounts as the server.
		if len(spec.InitContainers) != 1 {
			t.Fatalf("%d init containers, want the migration", len(spec.InitContainers))
		}
		mc := spec.InitContainers[0]
		if !slices.Equal(mc.Args, []string{"migrate", "up"}) || mc.Image != c.Image || len(mc.Command) != 0 {
			t.Errorf("init container %s: image %s, command %q, args %q; want %s with args migrate up", mc.Name, mc.Image, mc.Command, mc.Args, c.Image)
		}
		menv := settings(t, m, mc)
		if fmt.Sprint(menv) != fmt.Sprint(env) || fmt.Sprint(mc.VolumeMounts) != fmt.Sprint(c.VolumeMounts) {
			t.Errorf("the migration's environment or mounts differ from the server's:\n%v %v\n%v %v", menv, mc.VolumeMounts, env, c.VolumeMounts)
		}

		// The mode and the secrets.
		wantMode := "production"
		if v.dev {
			wantMode = "development"
		}
		if env["FLASK_ENV"] != wantMode {
			t.Errorf("FLASK_ENV %q, want %q", env["FLASK_ENV"], wantMode)
		}
		for _, k := range []string{"SECRET_KEY", "DB_PASSWORD"} {
			if _, ok := env[k]; ok {
				t.Errorf("%s is in the environment; secrets go in files (%s_FILE)", k, k)
			}
		}
		if env["BACKEND_ROUTE"] != v.prefix {
			t.Errorf("BACKEND_ROUTE %q, want %q", env["BACKEND_ROUTE"], v.prefix)
		}
		if env["DB_PORT"] != strconv.Itoa(int(v.dbPort)) {
			t.Errorf("DB_PORT %q, want %d", env["DB_PORT"], v.dbPort)
		}
	})
}

// Every *_FILE names a file of a mounted Secret volume (the item the
// operator creates), and the program accepts the whole environment.
func TestSecretsAreFilesFromMountedSecrets(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		for _, p := range pods(m) {
			for _, c := range allContainers(p.spec) {
				var env map[string]string
				if p.kind == "Deployment" {
					env = settings(t, m, c)
				} else {
					env = map[string]string{}
					for _, e := range c.Env {
						env[e.Name] = e.Value
					}
				}
				for k, val := range env {
					if !strings.HasSuffix(k, "_FILE") || val == "" {
						continue
					}
					if !fileFromSecret(p.spec, c, val) {
						t.Errorf("%s %s/%s: %s=%s is not a file of a mounted Secret", p.kind, p.name, c.Name, k, val)
					}
				}
			}
		}
		d := one(t, "Deployment", m.deps)
		c := container(t, d.Spec.Template.Spec, "api")
		env := settings(t, m, *c)
		files := 0
		for k := range env {
			if strings.HasSuffix(k, "_FILE") {
				files++
			}
		}
		if v.dev && files != 0 || !v.dev && files != 2 {
			t.Errorf("%d *_FILE settings (%v); want SECRET_KEY_FILE and DB_PASSWORD_FILE in production, none in development", files, env)
		}

		// The program's own settings check, with the secret files replaced by
		// local ones: what the pod gets starts the service.
		dir := t.TempDir()
		for k, val := range env {
			if strings.HasSuffix(k, "_FILE") {
				local := filepath.Join(dir, path.Base(val))
				if err := os.WriteFile(local, []byte("s3cret\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				env[k] = local
			}
		}
		s, err := app.LoadSettings(func(name string) (string, bool) { val, ok := env[name]; return val, ok }, "")
		if err != nil {
			t.Fatalf("the program refuses the pod's settings:\n%v", err)
		}
		if !v.dev && (s.SecretKey != "s3cret" || s.DBPassword != "s3cret") {
			t.Errorf("the secrets did not come from the files")
		}
	})
}

// fileFromSecret reports whether file is an item of a Secret volume that c
// mounts.
func fileFromSecret(spec corev1.PodSpec, c corev1.Container, file string) bool {
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimRight(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, vol := range spec.Volumes {
			if vol.Name != vm.Name || vol.Secret == nil {
				continue
			}
			if vol.Secret.SecretName == "" || (vol.Secret.Optional != nil && *vol.Secret.Optional) {
				return false
			}
			for _, it := range vol.Secret.Items {
				if it.Path == rel {
					return true
				}
			}
		}
	}
	return false
}

// The ports agree: LISTEN_ADDR, the container port, the probes, the
// Service's target, the Ingress's backend and the NetworkPolicy that opens
// the API; DB_PORT, PostgreSQL's container port, its Service and policy.
func TestPortsAgree(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		d := one(t, "Deployment", m.deps)
		c := container(t, d.Spec.Template.Spec, "api")
		env := settings(t, m, *c)
		apiPort := listenPort(t, env)

		svc := serviceSelecting(t, m, d.Spec.Template.Labels)
		ing := one(t, "Ingress", m.ings)
		var backend *networkingv1.IngressServiceBackend
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				backend = p.Backend.Service
			}
		}
		if backend == nil || backend.Name != svc.Name {
			t.Fatalf("Ingress backend %+v, want the Service %s", backend, svc.Name)
		}
		var sp *corev1.ServicePort
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if backend.Port.Name != "" && p.Name == backend.Port.Name || backend.Port.Number != 0 && p.Port == backend.Port.Number {
				sp = p
			}
		}
		if sp == nil {
			t.Fatalf("the Ingress names port %+v, which Service %s lacks", backend.Port, svc.Name)
		}
		if got := containerPort(t, *c, sp.TargetPort); got != apiPort {
			t.Errorf("Service %s targets port %d, the API listens on %d", svc.Name, got, apiPort)
		}
		if !v.dev {
			ports := policyIngressPorts(t, m, d.Spec.Template.Labels, *c)
			if !slices.Equal(ports, []int32{apiPort}) {
				t.Errorf("the NetworkPolicies open ports %v of the API pods, want only %d", ports, apiPort)
			}
		}

		if v.external {
			if env["DB_HOST"] == "" || len(m.sts) != 0 {
				t.Errorf("external database: DB_HOST %q, %d StatefulSets", env["DB_HOST"], len(m.sts))
			}
			return
		}
		ss := one(t, "StatefulSet", m.sts)
		pg := container(t, ss.Spec.Template.Spec, "postgres")
		dbSvc := serviceSelecting(t, m, ss.Spec.Template.Labels)
		if env["DB_HOST"] != dbSvc.Name || ss.Spec.ServiceName != dbSvc.Name {
			t.Errorf("DB_HOST %q, StatefulSet serviceName %q, want the database Service %s", env["DB_HOST"], ss.Spec.ServiceName, dbSvc.Name)
		}
		if dbSvc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("the StatefulSet's Service %s is not headless", dbSvc.Name)
		}
		if len(dbSvc.Spec.Ports) != 1 || dbSvc.Spec.Ports[0].Port != v.dbPort || containerPort(t, *pg, dbSvc.Spec.Ports[0].TargetPort) != v.dbPort {
			t.Errorf("database Service ports %+v, want %d onto PostgreSQL's port", dbSvc.Spec.Ports, v.dbPort)
		}
		if !slices.Contains(pg.Args, "port="+strconv.Itoa(int(v.dbPort))) {
			t.Errorf("PostgreSQL args %q: it does not listen on %d", pg.Args, v.dbPort)
		}
		if !v.dev {
			ports := policyIngressPorts(t, m, ss.Spec.Template.Labels, *pg)
			if !slices.Equal(ports, []int32{v.dbPort}) {
				t.Errorf("the NetworkPolicies open ports %v of PostgreSQL, want only %d", ports, v.dbPort)
			}
		}
		if c := m.crons; len(c) == 1 {
			script := strings.Join(c[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].Command, " ")
			if !strings.Contains(script, "--host="+dbSvc.Name) || !strings.Contains(script, "--port="+strconv.Itoa(int(v.dbPort))) {
				t.Errorf("the backup does not dump %s:%d:\n%s", dbSvc.Name, v.dbPort, script)
			}
		}
	})
}

// PostgreSQL keeps its data on a PersistentVolumeClaim mounted at /data
// (PGDATA below it); the backup writes to a claim of its own.
func TestDatabaseVolumes(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		if v.external {
			return
		}
		ss := one(t, "StatefulSet", m.sts)
		if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
			t.Errorf("PostgreSQL replicas %v, want 1", ss.Spec.Replicas)
		}
		pg := container(t, ss.Spec.Template.Spec, "postgres")
		var claim string
		for _, vm := range pg.VolumeMounts {
			if vm.MountPath == "/data" {
				claim = vm.Name
			}
		}
		found := false
		for _, vct := range ss.Spec.VolumeClaimTemplates {
			if vct.Name == claim {
				found = true
				if vct.Spec.Resources.Requests.Storage().IsZero() {
					t.Errorf("claim %s requests no storage", claim)
				}
			}
		}
		if !found {
			t.Fatalf("nothing of volumeClaimTemplates is mounted at /data (mounts %+v)", pg.VolumeMounts)
		}
		for _, vol := range ss.Spec.Template.Spec.Volumes {
			if vol.Name == claim {
				t.Errorf("volume %s shadows the claim template", claim)
			}
		}
		env := map[string]string{}
		for _, e := range pg.Env {
			env[e.Name] = e.Value
		}
		if !strings.HasPrefix(env["PGDATA"], "/data/") {
			t.Errorf("PGDATA %q is not below /data", env["PGDATA"])
		}
		if v.dev {
			if env["POSTGRES_PASSWORD"] != "not-so-secret" {
				t.Errorf("development PostgreSQL password %q, want the program's development default", env["POSTGRES_PASSWORD"])
			}
			return
		}
		if !fileFromSecret(ss.Spec.Template.Spec, *pg, env["POSTGRES_PASSWORD_FILE"]) {
			t.Errorf("POSTGRES_PASSWORD_FILE %q is not a file of a mounted Secret", env["POSTGRES_PASSWORD_FILE"])
		}
		if _, ok := env["POSTGRES_PASSWORD"]; ok {
			t.Error("POSTGRES_PASSWORD set in production")
		}

		cj := one(t, "CronJob", m.crons)
		if cj.Spec.ConcurrencyPolicy != "Forbid" {
			t.Errorf("backup concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
		}
		bspec := cj.Spec.JobTemplate.Spec.Template.Spec
		bc := bspec.Containers[0]
		script := strings.Join(bc.Command, " ")
		if !strings.Contains(script, "pg_dump") || !strings.Contains(script, "/backup/") {
			t.Errorf("backup command does not pg_dump into /backup:\n%s", script)
		}
		var bclaim string
		for _, vm := range bc.VolumeMounts {
			if vm.MountPath == "/backup" {
				for _, vol := range bspec.Volumes {
					if vol.Name == vm.Name && vol.PersistentVolumeClaim != nil {
						bclaim = vol.PersistentVolumeClaim.ClaimName
					}
				}
			}
		}
		pvc := one(t, "PersistentVolumeClaim", m.pvcs)
		if bclaim == "" || bclaim != pvc.Name {
			t.Errorf("the backup mounts claim %q at /backup, the manifests declare %q", bclaim, pvc.Name)
		}
		if !fileFromSecret(bspec, bc, "/run/secrets/eosc-perf-api/db-password") || !strings.Contains(script, "/run/secrets/eosc-perf-api/db-password") {
			t.Errorf("the backup does not read the database password from its mounted Secret")
		}
		if strings.Contains(v.args, `storageClassName = "fast"`) {
			for _, s := range []*string{ss.Spec.VolumeClaimTemplates[0].Spec.StorageClassName, pvc.Spec.StorageClassName} {
				if s == nil || *s != "fast" {
					t.Errorf("storageClassName %v, want fast", s)
				}
			}
		}
	})
}

func TestIngressAndDisruptionBudget(t *testing.T) {
	server := apiServer()
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		ing := one(t, "Ingress", m.ings)
		if len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
			t.Fatalf("Ingress rules %+v, want one rule with one path", ing.Spec.Rules)
		}
		rule := ing.Spec.Rules[0]
		if rule.Host != v.host {
			t.Errorf("host %q, want %q", rule.Host, v.host)
		}
		p := rule.HTTP.Paths[0]
		if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix || p.Path != v.prefix {
			t.Errorf("path %q (%v), want Prefix %q", p.Path, p.PathType, v.prefix)
		}
		if v.tlsSecret == "" {
			if len(ing.Spec.TLS) != 0 {
				t.Errorf("TLS %+v in development", ing.Spec.TLS)
			}
		} else if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != v.tlsSecret || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{v.host}) {
			t.Errorf("TLS %+v, want %s for %s", ing.Spec.TLS, v.tlsSecret, v.host)
		}

		// Behind a prefix the API must learn it (X-Script-Name): with what
		// the ingress-nginx annotation sends, the API answers under it.
		snippet, hasSnippet := ing.Annotations["nginx.ingress.kubernetes.io/configuration-snippet"]
		switch {
		case v.prefix != "/" && v.nginx:
			m := regexp.MustCompile(`^proxy_set_header X-Script-Name (\S+);\n?$`).FindStringSubmatch(snippet)
			if m == nil || m[1] != v.prefix {
				t.Fatalf("configuration-snippet %q: want X-Script-Name %s", snippet, v.prefix)
			}
			h := http.Header{"X-Script-Name": {m[1]}}
			for _, sub := range []string{"/healthz", "/benchmarks"} {
				if got := get(t, server, v.prefix+sub, h); got == http.StatusNotFound {
					t.Errorf("GET %s%s with X-Script-Name %s: 404", v.prefix, sub, m[1])
				}
			}
			if got := get(t, server, v.prefix+"/healthz", nil); got != http.StatusNotFound {
				t.Errorf("the check cannot fail: GET %s/healthz without X-Script-Name answers %d", v.prefix, got)
			}
		case hasSnippet:
			t.Errorf("configuration-snippet %q without a prefix or for another controller", snippet)
		}
		if v.nginx && ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "8m" {
			t.Errorf("proxy-body-size %q: ingress-nginx would refuse bodies the API accepts (8 MiB)", ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
		}
		if !v.nginx && ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName == "nginx" {
			t.Errorf("ingressClassName nginx, want the one given")
		}

		if v.dev {
			return
		}
		pdb := one(t, "PodDisruptionBudget", m.pdbs)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods(m) {
			if got, want := sel.Matches(labels.Set(p.labels)), p.kind == "Deployment"; got != want {
				t.Errorf("the PodDisruptionBudget selects %s %s: %v, want %v", p.kind, p.name, got, want)
			}
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 || pdb.Spec.MaxUnavailable.IntValue() >= int(v.replicas) {
			t.Errorf("PodDisruptionBudget maxUnavailable %v with %d replicas: want at least one pod left and drains possible", pdb.Spec.MaxUnavailable, v.replicas)
		}
	})
}

// Parameters the generator must refuse, with a message.
func TestInvalidParametersAreRefused(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		`{ }`:                                               "production needs adminEntitlements",
		`{ replicas = 1; }`:                                 "at least 2 replicas",
		`{ tlsSecret = null; }`:                             "needs host and tlsSecret",
		`{ host = null; }`:                                  "needs host and tlsSecret",
		`{ database.mode = "external"; }`:                   "needs database.host",
		`{ database.mode = "sqlite"; }`:                     `database.mode must be "internal" or "external"`,
		`{ backendRoute = "api"; }`:                         "backendRoute must be an absolute path",
		`{ backendRoute = "/a b"; }`:                        "backendRoute must be an absolute path",
		`{ backup.keep = 0; }`:                              "backup.keep must be a positive integer",
		`{ development = true; replicas = 0; }`:             "replicas must be a positive integer",
		`{ database = { mode = "external"; host = ""; }; }`: "needs database.host",
	} {
		t.Run(args, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := evalNix(t, args)
			if err == nil {
				t.Fatalf("evaluated without error")
			}
			if !strings.Contains(string(stderr), want) {
				t.Errorf("error output lacks %q:\n%s", want, stderr)
			}
		})
	}
}

// The default image is the flake's: nix/image.nix names it eosc-perf-api
// and tags it with the package version (nix/version.nix, from
// src/app/version.go).
func TestDefaultImageIsTheFlakeImage(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "nix", "image.nix"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name = "eosc-perf-api";`, "tag = eosc-perf-api.version;"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("nix/image.nix lacks %q: nix/kubernetes.nix's default image would not be the flake's", want)
		}
	}
	flake, err := os.ReadFile(filepath.Join(repoRoot(t), "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?s)kubernetes = manifests "eosc-perf-api-kubernetes" \{\s*adminEntitlements = (\[[^]]*\]);\s*\};`).FindSubmatch(flake)
	if want == nil || !strings.Contains(prodDefaults, string(want[1])) {
		t.Errorf("flake.nix's packages.kubernetes does not pass the arguments tested here (%s)", prodDefaults)
	}
	m := generate(t, prodDefaults)
	c := container(t, one(t, "Deployment", m.deps).Spec.Template.Spec, "api")
	if want := "eosc-perf-api:" + programVersion(t); c.Image != want {
		t.Errorf("default image %q, want %q", c.Image, want)
	}
	m2 := generate(t, `{ adminEntitlements = [ ]; image = "registry.example.org/perf/eosc-perf-api:9.9.9"; }`)
	for _, c := range allContainers(one(t, "Deployment", m2.deps).Spec.Template.Spec) {
		if c.Image != "registry.example.org/perf/eosc-perf-api:9.9.9" {
			t.Errorf("container %s: image %q, want the one given", c.Name, c.Image)
		}
	}
}

// programVersion reads app.Version as nix/version.nix does.
func programVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "src", "app", "version.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^var Version = "([^"]+)"`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("src/app/version.go declares no Version")
	}
	if string(m[1]) != app.Version {
		t.Fatalf("src/app/version.go says %s, app.Version is %s", m[1], app.Version)
	}
	return string(m[1])
}

func listenPort(t *testing.T, env map[string]string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(env["LISTEN_ADDR"])
	if err != nil {
		t.Fatalf("LISTEN_ADDR %q: %v", env["LISTEN_ADDR"], err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// containerPort resolves a port number or name against c's ports.
func containerPort(t *testing.T, c corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Errorf("container %s has no port named %q", c.Name, p.StrVal)
	return -1
}

// serviceSelecting returns the one Service whose selector matches podLabels.
func serviceSelecting(t *testing.T, m *manifests, podLabels map[string]string) *corev1.Service {
	t.Helper()
	var found []*corev1.Service
	for i := range m.svcs {
		s := &m.svcs[i]
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(podLabels)) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d Services select pods %v, want 1", len(found), podLabels)
	}
	return found[0]
}

// parseGoMemLimit parses GOMEMLIMIT's syntax (a number with an optional
// B, KiB, MiB, GiB or TiB suffix).
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// A change of the settings changes the API's pod template, so that
// `kubectl apply` rolls the pods (they read the ConfigMap at start only).
func TestSettingsChangeRollsThePods(t *testing.T) {
	t.Parallel()
	a := one(t, "Deployment", generate(t, `{ adminEntitlements = [ ]; }`).deps).Spec.Template.Annotations
	b := one(t, "Deployment", generate(t, `{ adminEntitlements = [ ]; settings.LOG_LEVEL = "debug"; }`).deps).Spec.Template.Annotations
	c := one(t, "Deployment", generate(t, `{ adminEntitlements = [ ]; replicas = 3; }`).deps).Spec.Template.Annotations
	if len(a) == 0 || fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("pod template annotations %v and %v: a settings change does not change the pod template", a, b)
	}
	if fmt.Sprint(a) != fmt.Sprint(c) {
		t.Errorf("pod template annotations %v and %v: a change of replicas should not roll the pods", a, c)
	}
}
