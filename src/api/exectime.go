package api

import (
	"regexp"
	"strconv"
	"time"
)

// execTimeRE is the syntax upstream accepts for execution_datetime (API.md
// §8.3): date, T or space, HH:MM, optional :SS and .fraction (1–12 digits),
// optional zone Z, ±HH, ±HHMM or ±HH:MM; one-digit fields tolerated.
var execTimeRE = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,12}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$`)

// parseExecTime parses an execution time. ok is false for a malformed
// value; zoned is false when no zone was given. The result is in UTC,
// microsecond precision (digits past the sixth are dropped).
func parseExecTime(s string) (t time.Time, zoned, ok bool) {
	m := execTimeRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false, false
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	year, month, day, hour, minute := num(1), num(2), num(3), num(4), num(5)
	sec := 0
	if m[6] != "" {
		sec = num(6)
	}
	usec := 0
	if frac := m[7]; frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		for len(frac) < 6 {
			frac += "0"
		}
		usec, _ = strconv.Atoi(frac)
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false, false
	}
	offset := 0
	if z := m[8]; z != "" && z != "Z" {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		digits := z[1:]
		if len(digits) > 2 && digits[2] == ':' {
			digits = digits[:2] + digits[3:]
		}
		h, _ := strconv.Atoi(digits[:2])
		mm := 0
		if len(digits) == 4 {
			mm, _ = strconv.Atoi(digits[2:])
		}
		if h > 23 || mm > 59 {
			return time.Time{}, false, false
		}
		offset = sign * (h*3600 + mm*60)
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, time.FixedZone("", offset))
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false, false
	}
	if t = t.UTC(); t.Year() < 1 { // Python's datetime has no year 0
		return time.Time{}, false, false
	}
	return t, m[8] != "", true
}
