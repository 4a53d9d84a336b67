package perf

import "time"

// FormatTime writes a stored (naive, UTC) timestamp the way upstream's
// Python isoformat() does (API.md §1): seconds always, microseconds only when
// non-zero, never an offset.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// Timestamp is a time that marshals in the upstream format.
type Timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + FormatTime(time.Time(t)) + `"`), nil
}

// Now is the current time in UTC truncated to microseconds, the precision
// PostgreSQL stores.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
