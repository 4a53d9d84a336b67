// Package topology is the twin of the NixOS VM test (nix/tests/vm.nix)
// without Nix: it builds the production topology of the README's NixOS
// examples from Linux network namespaces and checks the same reachability
// table against the real program, Debian's nginx and a real PostgreSQL.
//
//	client  198.18.1.2              frontend-net (bridge, 198.18.1.0/24)
//	proxy   198.18.1.1 198.18.2.10  nginx: HTTPS (test CA) on 198.18.1.1:443, 80 → 443, /api/v1/ → the API hosts
//	api1    198.18.2.1              backend-net (bridge, 198.18.2.0/24); the API on :5000, metrics on :9100
//	api2    198.18.2.2              the second replica
//	db      198.18.2.3              PostgreSQL on 198.18.2.3:5433 only
//	rogue   198.18.2.4              backend-net; must reach nothing
//
// The bridges live in a namespace of their own, so nothing is added to the
// host's network: every address is in the benchmarking range 198.18.0.0/15
// and every packet stays inside the namespaces (no IPv6 link-local addresses
// either). The port policy of the NixOS module is mirrored with nftables: on
// the proxy 80 and 443 on frontend-net only; on the API hosts 5000 from the
// proxy only; on the database host 5433 from the API hosts only, backed by a
// pg_hba.conf that lets in the API hosts only. The role's password is set
// from its SCRAM-SHA-256 verifier (`eosc-perf-api scram-verifier`). The
// backup is the module's pg_dump, restored with the README's commands.
//
// Names carry this process's id and a random suffix, so concurrent runs do
// not collide; everything is removed by t.Cleanup, and what a killed run left
// behind is swept by the next one. The test needs root (it skips otherwise),
// iproute2, nftables, nginx and the PostgreSQL server and client programs.
package topology
