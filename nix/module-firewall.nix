# The firewall of services.eosc-perf, for the three backends of
# networking.firewall.backend (nixpkgs 26.05:
# nixos/modules/services/networking/firewall.nix; its default follows
# services.firewalld.enable, then networking.nftables.enable). module.nix,
# module-postgresql.nix and module-proxy.nix only declare what must be open
# (the internal options below); this module renders it once:
#
# - iptables (firewall-iptables.nix): per-interface ports through
#   networking.firewall.interfaces; source filters as extraCommands, run
#   before the final refuse rule (chains nixos-fw, nixos-fw-accept).
# - nftables (firewall-nftables.nix): per-interface ports through
#   networking.firewall.interfaces; source filters as extraInputRules (the
#   input-allow chain). That backend asserts extraCommands == "".
# - firewalld (firewall-firewalld.nix, firewalld/zone.nix): that backend
#   asserts networking.firewall.interfaces == { } and ignores extraCommands.
#   An interface that needs ports of its own is bound to a zone
#   eosc-<interface> like nixos-fw-default (same target, the host's
#   global ports, since an interface belongs to one zone only); source
#   filters are rich rules (firewalld.richlanguage(5)) in those zones, or in
#   nixos-fw-default when they name no interface.
#
# Every definition is guarded by mkIf on the backend, so the attribute names
# of this module never depend on the configuration.
{ config, lib, ... }:

let
  inherit (lib) mkIf mkOption types;
  fw = config.networking.firewall;
  want = config.services.eosc-perf.internal.firewall;
  backend = fw.backend;

  isIPv6 = a: lib.hasInfix ":" a;
  # A host address without a prefix length means that host alone.
  hostMask =
    a:
    if lib.hasInfix "/" a then
      a
    else if isIPv6 a then
      "${a}/128"
    else
      "${a}/32";

  tcp = port: {
    inherit port;
    protocol = "tcp";
  };
  udp = port: {
    inherit port;
    protocol = "udp";
  };

  nftRules =
    r:
    let
      addrs = map hostMask r.sources;
      iif = lib.optionalString (r.interfaces != [ ]) "iifname { ${
        lib.concatMapStringsSep ", " (i: ''"${i}"'') r.interfaces
      } } ";
      rule =
        family: as:
        lib.optionalString (as != [ ])
          "${iif}${family} saddr { ${lib.concatStringsSep ", " as} } tcp dport ${toString r.port} accept comment \"${r.comment}\"\n";
    in
    rule "ip" (lib.filter (a: !isIPv6 a) addrs) + rule "ip6" (lib.filter isIPv6 addrs);

  iptablesRules =
    r:
    lib.concatMapStrings (
      a:
      let
        tool = if isIPv6 a then "ip6tables" else "iptables";
        rule =
          i:
          "${tool} -w -A nixos-fw -p tcp --dport ${toString r.port} -s ${a}${
            lib.optionalString (i != null) " -i ${i}"
          } -j nixos-fw-accept\n";
      in
      if r.interfaces == [ ] then rule null else lib.concatMapStrings rule r.interfaces
    ) (map hostMask r.sources);

  # In the XML form of pkgs.formats.xml, as zone.nix writes `rules`.
  richRules =
    r:
    map (a: {
      "@family" = if isIPv6 a then "ipv6" else "ipv4";
      source."@address" = a;
      port = {
        "@port" = toString r.port;
        "@protocol" = "tcp";
      };
      accept = "";
    }) (map hostMask r.sources);

  # firewalld limits zone names to 17 characters (src/firewall/core/io/zone.py,
  # "INVALID_NAME … max is 17", firewalld issue #89): a long interface name is
  # shortened and made unique with a hash.
  zoneName =
    i:
    let
      name = "eosc-${i}";
    in
    if lib.stringLength name <= 17 then
      name
    else
      "eosc-${lib.substring 0 6 i}-${lib.substring 0 5 (builtins.hashString "sha256" i)}";

  zoneInterfaces = lib.unique (
    lib.attrNames want.interfacePorts ++ lib.concatMap (r: r.interfaces) want.sourceRules
  );
  zone = i: {
    interfaces = [ i ];
    target = if fw.rejectPackets then "%%REJECT%%" else "DROP";
    ports =
      map tcp (lib.unique (fw.allowedTCPPorts ++ want.interfacePorts.${i} or [ ]))
      ++ map udp fw.allowedUDPPorts;
    rules = lib.concatMap richRules (lib.filter (r: lib.elem i r.interfaces) want.sourceRules);
  };
in
{
  options.services.eosc-perf.internal.firewall = {
    globalPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
      internal = true;
      description = "TCP ports the module opens on every interface.";
    };
    interfacePorts = mkOption {
      type = types.attrsOf (types.listOf types.port);
      default = { };
      internal = true;
      description = "TCP ports the module opens on some interfaces only.";
    };
    sourceRules = mkOption {
      type = types.listOf (
        types.submodule {
          options = {
            port = mkOption { type = types.port; };
            sources = mkOption { type = types.listOf types.str; };
            interfaces = mkOption {
              type = types.listOf types.str;
              default = [ ];
            };
            comment = mkOption { type = types.str; };
          };
        }
      );
      default = [ ];
      internal = true;
      description = "TCP ports the module opens to some source addresses only.";
    };
  };

  config = {
    networking.firewall.allowedTCPPorts = want.globalPorts;
    networking.firewall.interfaces = mkIf (backend != "firewalld") (
      lib.mapAttrs (_: ports: { allowedTCPPorts = ports; }) want.interfacePorts
    );
    networking.firewall.extraCommands = mkIf (backend == "iptables") (
      lib.concatMapStrings iptablesRules want.sourceRules
    );
    networking.firewall.extraInputRules = mkIf (backend == "nftables") (
      lib.concatMapStrings nftRules want.sourceRules
    );
    services.firewalld.zones = mkIf (backend == "firewalld") (
      lib.listToAttrs (map (i: lib.nameValuePair (zoneName i) (zone i)) zoneInterfaces)
      // {
        nixos-fw-default.rules = lib.concatMap richRules (
          lib.filter (r: r.interfaces == [ ]) want.sourceRules
        );
      }
    );
  };
}
