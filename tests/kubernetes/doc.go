// Package kubernetes checks the Kubernetes manifests that nix/kubernetes.nix
// generates: Debian's Nix (nix-instantiate, package nix-bin) evaluates the
// generator for both variants and several parameter sets, every object is
// decoded strictly into the k8s.io/api types (unknown or duplicate fields,
// wrong case, unknown kinds are errors), and the tests check the properties
// the deployment promises: the restricted security context, probes on paths
// the API serves, ports that agree between Deployment, Service, Ingress and
// NetworkPolicies, secrets as files from mounted Secrets, PostgreSQL's volume
// at /data, and — with a small NetworkPolicy evaluator — the reachability
// table of the NixOS topology (tests/topology). With a throwaway PostgreSQL
// (src/pgtest) it runs what the pods run: the API pod's migration init
// container twice at once and its server with the pod's environment, and
// the backup CronJob's script (dump, retention, restore).
//
// Without nix-instantiate the tests skip, saying so, unless CI=true, where
// they fail (.ci/run installs nix-bin). k8s.io/api and k8s.io/apimachinery
// are imported only here.
package kubernetes
