// Package topology is the twin of the NixOS VM test (nix/tests/vm.nix)
// without Nix: it builds the same network from Linux network namespaces and
// checks the same reachability table against the real program and a real
// PostgreSQL.
//
//	client  198.18.1.2            frontend-net (bridge, 198.18.1.0/24)
//	api     198.18.1.1 198.18.2.1 frontend-net and backend-net; the API listens on 198.18.1.1:5000
//	db      198.18.2.3            backend-net (bridge, 198.18.2.0/24); PostgreSQL on 198.18.2.3:5432 only
//	rogue   198.18.2.4            backend-net; must reach nothing
//
// The bridges live in a namespace of their own, so nothing is added to the
// host's network: every address is in the benchmarking range 198.18.0.0/15
// and every packet stays inside the namespaces (no IPv6 link-local addresses
// either). The port policy of the NixOS module is mirrored with nftables: in
// api, 5000 only on eth1 (frontend-net); in db, 5432 only from the API host,
// backed by a pg_hba.conf that lets in the API host only.
//
// Names carry this process's id and a random suffix, so concurrent runs do
// not collide; everything is removed by t.Cleanup, and what a killed run left
// behind is swept by the next one. The test needs root (it skips otherwise),
// iproute2, nftables and the PostgreSQL server programs.
package topology
