package schema

import (
	"testing"
)

// BenchmarkValidateSample measures the validation of one c-ray result
// against the compiled template (the per-upload cost on a cache hit).
func BenchmarkValidateSample(b *testing.B) {
	s := template(b)
	doc := sampleFile(b, "ifca-lcg2-16")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileTemplate measures a cache miss.
func BenchmarkCompileTemplate(b *testing.B) {
	raw := sampleFile(b, "template")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(raw); err != nil {
			b.Fatal(err)
		}
	}
}
