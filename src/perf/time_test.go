package perf

import (
	"math/rand"
	"testing"
	"time"
)

// TestAppendTimeMatchesLayout compares the hand-written formatter with
// time's layouts over random instants (all years PostgreSQL stores, both
// with and without microseconds, in and out of UTC).
func TestAppendTimeMatchesLayout(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	zone := time.FixedZone("X", -(3*3600 + 30*60))
	cases := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 3, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2025, 6, 1, 2, 3, 4, 999, time.UTC), // below a microsecond
		time.Date(2025, 6, 1, 2, 3, 4, 0, zone),
	}
	for range 20000 {
		sec := rng.Int63n(300000*365*86400) - 5000*365*86400 - 62135596800
		ns := int64(0)
		if rng.Intn(2) == 0 {
			ns = rng.Int63n(1e9)
		}
		tm := time.Unix(sec, ns)
		if rng.Intn(3) == 0 {
			tm = tm.In(zone)
		}
		cases = append(cases, tm)
	}
	for _, tm := range cases {
		u := tm.UTC()
		want := u.Format("2006-01-02T15:04:05")
		if u.Nanosecond()/1000 != 0 {
			want = u.Format("2006-01-02T15:04:05.000000")
		}
		if got := FormatTime(tm); got != want {
			t.Fatalf("FormatTime(%v) = %q, want %q", tm, got, want)
		}
		if got := string(AppendTime([]byte("x"), tm)); got != "x"+want {
			t.Fatalf("AppendTime(%v) = %q, want %q", tm, got, "x"+want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	tm := time.Date(2025, 6, 1, 2, 3, 4, 5000, time.UTC)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = AppendTime(buf[:0], tm)
	}
}
