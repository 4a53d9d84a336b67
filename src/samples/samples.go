// Package samples holds the real c-ray benchmark results of the upstream
// project and the JSON Schema they satisfy, embedded in the binary: the
// development seed (`eosc-perf-api-dev`), the load benchmark and the tests
// use them. See data/README.md for their origin and licence.
package samples

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed data/*.json data/c-ray/*.json data/README.md
var files embed.FS

// Template is the JSON Schema of the benchmark
// thechristophe/openbench-c-ray:latest (draft 2020-12).
func Template() []byte { return mustRead("data/template.json") }

// Result is one sample result document.
type Result struct {
	// Name is the file name without .json: "ifca-lcg2-16" (site and core
	// count) or "result-4" (the VirtualBox test machine with 4 CPUs).
	Name string
	// Site is the site's file prefix ("ifca-lcg2"), or "" for the
	// VirtualBox runs.
	Site string
	// Cores is the number of CPU cores of the flavor used.
	Cores int
	JSON  []byte
}

// Results returns the 25 sample results, sorted by name.
func Results() []Result {
	var out []Result
	for _, pattern := range []string{"data/result-*.json", "data/c-ray/*.json"} {
		names, _ := fs.Glob(files, pattern)
		for _, name := range names {
			base := strings.TrimSuffix(path.Base(name), ".json")
			r := Result{Name: base, JSON: mustRead(name)}
			i := strings.LastIndexByte(base, '-')
			if strings.HasPrefix(name, "data/c-ray/") {
				r.Site = base[:i]
			}
			for _, c := range base[i+1:] {
				r.Cores = r.Cores*10 + int(c-'0')
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("samples: " + err.Error()) // embedded at build time: cannot happen
	}
	return b
}
