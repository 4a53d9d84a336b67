package app

// Version is the program version, printed by `eosc-perf-api version` and
// set at build time with -ldflags "-X github.com/eosc-perf/api/src/app.Version=…"
// (the Nix package does so from nix/version.nix).
var Version = "0.1.0-dev"
