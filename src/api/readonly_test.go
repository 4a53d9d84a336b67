package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSameTimeComparesInstants(t *testing.T) {
	stored := time.Date(2026, 11, 26, 19, 13, 15, 730833000, time.UTC)
	whole := time.Date(2026, 11, 26, 19, 13, 15, 0, time.UTC)
	tests := []struct {
		v      string
		stored time.Time
		want   bool
	}{
		{`"2026-11-26T19:13:15.730833"`, stored, true}, // as GET writes it
		{`"2026-11-26T19:13:15.730833000"`, stored, true},
		{`"2026-11-26T19:13:15.730833Z"`, stored, true},
		{`"2026-11-26T21:13:15.730833+02:00"`, stored, true},
		{`"2026-11-26 19:13:15.730833"`, stored, true},
		{`"2026-11-26T19:13:15"`, whole, true}, // no fraction when it is zero
		{`"2026-11-26T19:13:15.000000"`, whole, true},
		{`"2026-11-26T19:13:15.73083"`, stored, false},
		{`"2026-11-26T19:13:15.730834"`, stored, false},
		{`"2026-11-26T19:13:15.730833+02:00"`, stored, false},
		{`"2026-11-26T19:13:15"`, stored, false},
		{`"2026-11-26T19:13:15.730833 "`, stored, false},
		{`"2026-11-26T19:13:15.730833junk"`, stored, false},
		{`"2026-11-26"`, stored, false},
		{`""`, stored, false},
		{`1795720395`, stored, false},
		{`null`, stored, false},
		{`["2026-11-26T19:13:15.730833"]`, stored, false},
	}
	for _, tt := range tests {
		if got := sameTime(json.RawMessage(tt.v), tt.stored); got != tt.want {
			t.Errorf("sameTime(%s, %s) = %v, want %v", tt.v, tt.stored.Format(time.RFC3339Nano), got, tt.want)
		}
	}
}

func TestSameUUIDAcceptsTheAPIsSpellings(t *testing.T) {
	id := uuid.MustParse("3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f60")
	tests := []struct {
		v    string
		want bool
	}{
		{`"3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f60"`, true},
		{`"3195AB64-7D8E-4A5E-9A0E-1C2B3D4E5F60"`, true},
		{`"3195ab647d8e4a5e9a0e1c2b3d4e5f60"`, true},
		{`"{3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f60}"`, true},
		{`"urn:uuid:3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f60"`, true},
		{`"3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f61"`, false},
		{`"3195ab64"`, false},
		{`""`, false},
		{`5`, false},
		{`null`, false},
		{`{"id":"3195ab64-7d8e-4a5e-9a0e-1c2b3d4e5f60"}`, false},
	}
	for _, tt := range tests {
		if got := sameUUID(json.RawMessage(tt.v), id); got != tt.want {
			t.Errorf("sameUUID(%s) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
