package main

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const syntax = ": want numbers with units (ns, us, ms, s, m, h, d), as in 90s or 1d12h"
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{name: "zero", in: "0", want: 0},
		{name: "seconds", in: "90s", want: 90 * time.Second},
		{name: "go syntax", in: "1h30m", want: 90 * time.Minute},
		{name: "milliseconds", in: "250ms", want: 250 * time.Millisecond},
		{name: "micro", in: "3µs", want: 3 * time.Microsecond},
		{name: "fraction", in: "1.5h", want: 90 * time.Minute},
		{name: "days", in: "7d", want: 7 * 24 * time.Hour},
		{name: "days and hours", in: "1d12h", want: 36 * time.Hour},
		{name: "fractional days", in: "0.5d", want: 12 * time.Hour},
		{name: "empty", in: "", wantErr: `invalid duration "": empty`},
		{name: "negative", in: "-5m", wantErr: `invalid duration "-5m": negative`},
		{name: "no unit", in: "10", wantErr: `invalid duration "10"` + syntax},
		{name: "unknown unit", in: "3w", wantErr: `invalid duration "3w"` + syntax},
		{name: "word", in: "x", wantErr: `invalid duration "x"` + syntax},
		{name: "two dots", in: "1.2.3s", wantErr: `invalid duration "1.2.3s"` + syntax},
		{name: "lone dot", in: ".s", wantErr: `invalid duration ".s"` + syntax},
		{name: "space", in: "1h 30m", wantErr: `invalid duration "1h 30m"` + syntax},
		{name: "too large", in: "300000000h", wantErr: `invalid duration "300000000h": too large`},
		{name: "too many days", in: "200000d", wantErr: `invalid duration "200000d": too large`},
		{name: "sum too large", in: "2562047h2562047h", wantErr: `invalid duration "2562047h2562047h": too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("parseDuration(%q) = %v, %v, want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseDuration(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"},
		{340 * time.Millisecond, "340ms"},
		{12500 * time.Millisecond, "12.5s"},
		{3*time.Minute + 4*time.Second, "3m04s"},
		{2*time.Hour + 3*time.Minute + 59*time.Second, "2h03m"},
		{47 * time.Hour, "47h00m"},
		{3*24*time.Hour + 4*time.Hour, "3d04h"},
		{-2 * time.Second, "-2.0s"},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	for _, tc := range []struct {
		name, in string
		loc      *time.Location
		want     time.Time
	}{
		{"duration", "90m", time.UTC, now.Add(-90 * time.Minute)},
		{"days", "2d", time.UTC, now.Add(-48 * time.Hour)},
		{"date", "2026-11-20", time.UTC, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"date in the display's zone", "2026-11-20", berlin, time.Date(2026, 11, 19, 23, 0, 0, 0, time.UTC)},
		{"minutes", "2026-11-20 14:30", time.UTC, time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)},
		{"seconds", "2026-11-20T14:30:05", time.UTC, time.Date(2026, 11, 20, 14, 30, 5, 0, time.UTC)},
		{"RFC 3339 with its own zone", "2026-11-20T14:30:00+02:00", berlin, time.Date(2026, 11, 20, 12, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSince(tc.in, now, tc.loc)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "5 minutes", "-3h"} {
		if _, err := parseSince(bad, now, time.UTC); err == nil {
			t.Errorf("parseSince(%q) error = nil, want an error", bad)
		}
	}
}
