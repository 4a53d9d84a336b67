package perf

import "time"

// FormatTime writes a stored (naive, UTC) timestamp the way upstream's
// Python isoformat() does (API.md §1): seconds always, microseconds only when
// non-zero, never an offset.
func FormatTime(t time.Time) string {
	return string(AppendTime(nil, t))
}

// AppendTime appends FormatTime(t) to b without allocating (a page of 100
// results holds 500 timestamps).
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	micro := t.Nanosecond() / 1000
	if year < 0 || year > 9999 {
		if micro == 0 {
			return t.AppendFormat(b, "2006-01-02T15:04:05")
		}
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000")
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if micro != 0 {
		b = append(b, '.')
		b = appendDigits(b, micro, 6)
	}
	return b
}

// appendDigits appends the n lowest decimal digits of v (v >= 0),
// zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	var buf [8]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:n]...)
}

// Timestamp is a time that marshals in the upstream format.
type Timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 28), '"')
	return append(AppendTime(b, time.Time(t)), '"'), nil
}

// Now is the current time in UTC truncated to microseconds, the precision
// PostgreSQL stores.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
