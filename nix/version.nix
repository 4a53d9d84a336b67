# The program's version, read from the one place it is written:
# `var Version = "…"` in src/app/version.go. `go build` gets it from there
# directly; the Nix package passes the same string again through
# `-ldflags -X …/src/app.Version=…`, so both builds print the same
# `eosc-perf-api version`. tests/nixeval checks that this file and
# app.Version agree.
let
  source = builtins.readFile ../src/app/version.go;
  # builtins.match needs the whole string to match; the regex works line by
  # line so that it does not depend on how `.` treats newlines.
  lines = builtins.filter builtins.isString (builtins.split "\n" source);
  matches = builtins.filter (m: m != null) (
    map (builtins.match "^var Version = \"([^\"]+)\"[[:space:]]*$") lines
  );
in
if builtins.length matches == 1 then
  builtins.head (builtins.head matches)
else
  throw "nix/version.nix: expected exactly one line `var Version = \"…\"` in src/app/version.go"
