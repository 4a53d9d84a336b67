package kubernetes

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// endpoint is a pod of the cluster (namespace set) or an address outside it.
type endpoint struct {
	name      string
	namespace string // "" = outside the cluster
	labels    map[string]string
	ip        net.IP
	ports     []corev1.ContainerPort // for named ports
}

// netpolCluster evaluates NetworkPolicies as the Kubernetes API defines
// them: a pod is isolated for a direction when a policy of its namespace
// selects it with that policy type; a connection needs the source's egress
// and the destination's ingress allowed. ipBlock peers match any address,
// pods included (the conservative reading: some plug-ins do so).
type netpolCluster struct {
	policies []networkingv1.NetworkPolicy
}

func nsLabels(ns string) labels.Set { return labels.Set{"kubernetes.io/metadata.name": ns} }

func selects(ls metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		panic(fmt.Sprintf("bad selector %v: %v", ls, err))
	}
	return sel.Matches(labels.Set(l))
}

func policyTypes(p networkingv1.NetworkPolicy) []networkingv1.PolicyType {
	if len(p.Spec.PolicyTypes) > 0 {
		return p.Spec.PolicyTypes
	}
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return types
}

// selecting returns the policies of ep's namespace that select ep for dir.
func (c netpolCluster) selecting(ep endpoint, dir networkingv1.PolicyType) []networkingv1.NetworkPolicy {
	var out []networkingv1.NetworkPolicy
	if ep.namespace == "" {
		return nil
	}
	for _, p := range c.policies {
		if p.Namespace == ep.namespace && selects(p.Spec.PodSelector, ep.labels) && slices.Contains(policyTypes(p), dir) {
			out = append(out, p)
		}
	}
	return out
}

func peerMatches(peer networkingv1.NetworkPolicyPeer, policyNS string, ep endpoint) bool {
	if peer.IPBlock != nil {
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		if err != nil {
			panic(err)
		}
		if !cidr.Contains(ep.ip) {
			return false
		}
		for _, ex := range peer.IPBlock.Except {
			_, e, err := net.ParseCIDR(ex)
			if err != nil {
				panic(err)
			}
			if e.Contains(ep.ip) {
				return false
			}
		}
		return true
	}
	if ep.namespace == "" {
		return false
	}
	if peer.NamespaceSelector == nil {
		if ep.namespace != policyNS {
			return false
		}
	} else if !selects(*peer.NamespaceSelector, nsLabels(ep.namespace)) {
		return false
	}
	return peer.PodSelector == nil || selects(*peer.PodSelector, ep.labels)
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, ep endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if peerMatches(p, policyNS, ep) {
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst endpoint, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.StrVal != "" {
			for _, cp := range dst.ports {
				cpp := cp.Protocol
				if cpp == "" {
					cpp = corev1.ProtocolTCP
				}
				if cp.Name == p.Port.StrVal && cpp == proto && cp.ContainerPort == port {
					return true
				}
			}
			continue
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port >= p.Port.IntVal && port <= end {
			return true
		}
	}
	return false
}

func (c netpolCluster) allowed(src, dst endpoint, port int32, proto corev1.Protocol) bool {
	egress := c.selecting(src, networkingv1.PolicyTypeEgress)
	ok := len(egress) == 0
	for _, p := range egress {
		for _, r := range p.Spec.Egress {
			if peersMatch(r.To, p.Namespace, dst) && portsMatch(r.Ports, dst, port, proto) {
				ok = true
			}
		}
	}
	if !ok {
		return false
	}
	ingress := c.selecting(dst, networkingv1.PolicyTypeIngress)
	if len(ingress) == 0 {
		return true
	}
	for _, p := range ingress {
		for _, r := range p.Spec.Ingress {
			if peersMatch(r.From, p.Namespace, src) && portsMatch(r.Ports, dst, port, proto) {
				return true
			}
		}
	}
	return false
}

// policyIngressPorts lists the ports of c that the policies selecting pods
// with podLabels open to anyone (-1: all ports).
func policyIngressPorts(t *testing.T, m *manifests, podLabels map[string]string, c corev1.Container) []int32 {
	t.Helper()
	var out []int32
	for _, p := range m.netpols {
		if !selects(p.Spec.PodSelector, podLabels) {
			continue
		}
		for _, r := range p.Spec.Ingress {
			if len(r.Ports) == 0 {
				out = append(out, -1)
			}
			for _, pp := range r.Ports {
				if pp.Port == nil {
					out = append(out, -1)
				} else {
					out = append(out, containerPort(t, c, *pp.Port))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// topology is the manifests' pods plus what surrounds them.
type topology struct {
	api, db, backup                                   endpoint
	other, impostor, foreignAPI, ingress, dns, client endpoint
	extDB, oidc                                       endpoint
}

func newTopology(t *testing.T, v variant, m *manifests) topology {
	t.Helper()
	ip := net.ParseIP
	var tp topology
	for _, p := range pods(m) {
		var ports []corev1.ContainerPort
		for _, c := range p.spec.Containers {
			ports = append(ports, c.Ports...)
		}
		ep := endpoint{name: p.kind + "/" + p.name, namespace: v.namespace, labels: p.labels, ports: ports}
		switch p.kind {
		case "Deployment":
			tp.api = ep
			tp.api.ip = ip("10.0.0.10")
		case "StatefulSet":
			tp.db = ep
			tp.db.ip = ip("10.0.0.20")
		case "CronJob":
			tp.backup = ep
			tp.backup.ip = ip("10.0.0.30")
		}
	}
	apiLabels := tp.api.labels
	partial := map[string]string{}
	for k, val := range apiLabels {
		if k != "app.kubernetes.io/component" {
			partial[k] = val
		}
	}
	tp.other = endpoint{name: "another pod of the namespace", namespace: v.namespace, labels: map[string]string{"app": "other"}, ip: ip("10.0.0.40")}
	tp.impostor = endpoint{name: "a pod of the namespace with the app's name but no component", namespace: v.namespace, labels: partial, ip: ip("10.0.0.41")}
	tp.foreignAPI = endpoint{name: "a pod with the API's labels in another namespace", namespace: "default", labels: apiLabels, ip: ip("10.0.1.10"),
		ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5000}}}
	tp.ingress = endpoint{name: "the ingress controller", namespace: v.ingressNS, labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, ip: ip("10.0.2.10")}
	tp.dns = endpoint{name: "cluster DNS", namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}, ip: ip("10.0.3.10"),
		ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}}
	tp.client = endpoint{name: "a client on the Internet", ip: ip("203.0.113.10")}
	tp.extDB = endpoint{name: "the external database", ip: ip("198.51.100.7")}
	tp.oidc = endpoint{name: "an OpenID provider", ip: ip("192.0.2.80")}
	return tp
}

type reach struct {
	src, dst endpoint
	port     int32
	proto    corev1.Protocol
	want     bool
}

func (r reach) String() string {
	verdict := "denied"
	if r.want {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s → %s :%d/%s %s", r.src.name, r.dst.name, r.port, r.proto, verdict)
}

// The reachability table of tests/topology, from the NetworkPolicies:
// clients reach the API only through the ingress controller, the API (and
// the backup) reach PostgreSQL, nothing else does.
func TestNetworkPoliciesReachability(t *testing.T) {
	forEachVariant(t, func(t *testing.T, v variant, m *manifests) {
		c := netpolCluster{policies: m.netpols}
		tp := newTopology(t, v, m)
		const tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
		api := int32(5000)
		if v.dev {
			// No policies: the development variant is open, like its
			// compose file; the evaluator agrees.
			for _, r := range []reach{
				{tp.client, tp.api, api, tcp, true},
				{tp.other, tp.api, api, tcp, true},
				{tp.other, tp.db, v.dbPort, tcp, !v.external},
			} {
				if r.dst.name == "" {
					continue
				}
				if got := c.allowed(r.src, r.dst, r.port, r.proto); got != r.want {
					t.Errorf("%v, evaluated %v", r, got)
				}
			}
			return
		}
		table := []reach{
			// frontend-net
			{tp.ingress, tp.api, api, tcp, true},
			{tp.client, tp.api, api, tcp, false},
			{tp.ingress, tp.api, api + 1, tcp, false},
			{tp.ingress, tp.api, api, udp, false},
			{tp.other, tp.api, api, tcp, false},
			{tp.impostor, tp.api, api, tcp, false},
			{tp.foreignAPI, tp.api, api, tcp, false},
			{tp.api, tp.api, api, tcp, false},
			// what the API may reach besides
			{tp.api, tp.dns, 53, udp, true},
			{tp.api, tp.dns, 53, tcp, true},
			{tp.api, tp.oidc, 443, tcp, true},
			{tp.api, tp.oidc, 22, tcp, false},
			{tp.api, tp.foreignAPI, api, tcp, false},
			{tp.api, tp.other, 8080, tcp, false},
			// the rest of the namespace is closed
			{tp.other, tp.other, 8080, tcp, false},
			{tp.other, tp.oidc, 443, tcp, false},
		}
		if v.external {
			table = append(table,
				reach{tp.api, tp.extDB, v.dbPort, tcp, true},
				reach{tp.api, tp.extDB, v.dbPort + 1, tcp, false},
			)
		} else {
			db := v.dbPort
			table = append(table,
				// backend-net
				reach{tp.api, tp.db, db, tcp, true},
				reach{tp.backup, tp.db, db, tcp, true},
				reach{tp.api, tp.db, 22, tcp, false},
				reach{tp.other, tp.db, db, tcp, false},
				reach{tp.impostor, tp.db, db, tcp, false},
				reach{tp.foreignAPI, tp.db, db, tcp, false},
				reach{tp.ingress, tp.db, db, tcp, false},
				reach{tp.client, tp.db, db, tcp, false},
				reach{tp.dns, tp.db, db, tcp, false},
				// PostgreSQL and the backup reach nothing else
				reach{tp.db, tp.api, api, tcp, false},
				reach{tp.db, tp.dns, 53, udp, false},
				reach{tp.db, tp.oidc, 443, tcp, false},
				reach{tp.backup, tp.dns, 53, udp, true},
				reach{tp.backup, tp.oidc, 443, tcp, false},
				reach{tp.backup, tp.api, api, tcp, false},
				reach{tp.ingress, tp.backup, 8080, tcp, false},
			)
		}
		for _, r := range table {
			if got := c.allowed(r.src, r.dst, r.port, r.proto); got != r.want {
				t.Errorf("%v, the NetworkPolicies give %v", r, got)
			}
		}

		// Each policy selects the pods it is meant for and no other.
		all := []endpoint{tp.api, tp.other, tp.impostor, tp.foreignAPI, tp.ingress, tp.dns}
		if !v.external {
			all = append(all, tp.db, tp.backup)
		}
		name := one(t, "Deployment", m.deps).Name
		want := map[string][]string{
			name + "-default-deny": {tp.api.name, tp.other.name, tp.impostor.name},
			name + "-api":          {tp.api.name},
		}
		if !v.external {
			want[name+"-default-deny"] = append(want[name+"-default-deny"], tp.db.name, tp.backup.name)
			want[name+"-database"] = []string{tp.db.name}
			want[name+"-backup"] = []string{tp.backup.name}
		}
		if len(m.netpols) != len(want) {
			t.Errorf("%d NetworkPolicies, want %d", len(m.netpols), len(want))
		}
		for _, p := range m.netpols {
			var got []string
			for _, ep := range all {
				if ep.namespace == p.Namespace && selects(p.Spec.PodSelector, ep.labels) {
					got = append(got, ep.name)
				}
			}
			w, ok := want[p.Name]
			if !ok {
				t.Errorf("unexpected NetworkPolicy %s", p.Name)
				continue
			}
			slices.Sort(got)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("NetworkPolicy %s selects %s, want %s", p.Name, strings.Join(got, ", "), strings.Join(w, ", "))
			}
			if !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
				t.Errorf("NetworkPolicy %s: policyTypes %v, want both (so that no direction is left open)", p.Name, p.Spec.PolicyTypes)
			}
		}
	})
}

// The evaluator itself: the rules of the Kubernetes documentation on a
// hand-written policy set, so that its verdicts above mean something.
func TestNetpolEvaluator(t *testing.T) {
	t.Parallel()
	tcp := corev1.ProtocolTCP
	udp := corev1.ProtocolUDP
	a := endpoint{name: "a", namespace: "ns", labels: map[string]string{"role": "a"}, ip: net.ParseIP("10.0.0.1"),
		ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}}}
	b := endpoint{name: "b", namespace: "ns", labels: map[string]string{"role": "b"}, ip: net.ParseIP("10.0.0.2")}
	x := endpoint{name: "x", namespace: "other", labels: map[string]string{"role": "b"}, ip: net.ParseIP("10.0.1.2")}
	out := endpoint{name: "out", ip: net.ParseIP("198.51.100.1")}
	var c netpolCluster
	if !c.allowed(b, a, 8080, tcp) || !c.allowed(out, a, 1, udp) {
		t.Fatal("without policies everything is allowed")
	}
	web := intstrName("web")
	c.policies = []networkingv1.NetworkPolicy{{
		ObjectMeta: metav1.ObjectMeta{Name: "a-in", Namespace: "ns"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "a"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "b"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &web}},
			}},
		},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "b-out", Namespace: "ns"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "b"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
			}},
		},
	}}
	for _, r := range []reach{
		{b, a, 8080, tcp, true},     // peer in the namespace, named port
		{b, a, 8081, tcp, false},    // other port
		{b, a, 8080, udp, false},    // other protocol
		{x, a, 8080, tcp, false},    // same labels, other namespace
		{out, a, 8080, tcp, false},  // outside
		{a, b, 9, tcp, true},        // b has no ingress policy; a no egress policy
		{b, x, 9, tcp, false},       // b's egress: only pods of its namespace
		{b, out, 443, tcp, false},   // nor outside
		{x, b, 9, tcp, true},        // b is not isolated for ingress
		{out, b, 9, tcp, true},      // idem
		{a, out, 443, tcp, true},    // a is not isolated for egress
		{b, b, 9, tcp, true},        // b's egress to pods of ns
		{out, x, 9, udp, true},      // namespace "other" has no policies
		{x, out, 53, udp, true},     // idem
		{a, a, 8080, tcp, false},    // a is not role=b
		{b, a, 8080, "SCTP", false}, // protocol
	} {
		if got := c.allowed(r.src, r.dst, r.port, r.proto); got != r.want {
			t.Errorf("%v, evaluated %v", r, got)
		}
	}
	// namespaceSelector, and ipBlock with an exception.
	c.policies = []networkingv1.NetworkPolicy{{
		ObjectMeta: metav1.ObjectMeta{Name: "a-in", Namespace: "ns"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "other"}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "198.51.100.0/24", Except: []string{"198.51.100.0/28"}}},
				},
			}},
		},
	}}
	for _, r := range []reach{
		{x, a, 1, tcp, true},
		{b, a, 1, tcp, false},
		{out, a, 1, tcp, false},
		{endpoint{name: "out2", ip: net.ParseIP("198.51.100.77")}, b, 1, tcp, true},
	} {
		if got := c.allowed(r.src, r.dst, r.port, r.proto); got != r.want {
			t.Errorf("%v, evaluated %v", r, got)
		}
	}
}
