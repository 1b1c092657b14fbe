package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

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
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "sigkill": syscall.SIGKILL, "Hup": syscall.SIGHUP,
		"SIGUSR1": syscall.SIGUSR1, "9": syscall.SIGKILL, "2": syscall.SIGINT,
	} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "TERMINATE", "-9", "SIG"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}

func TestWriteTable(t *testing.T) {
	d := display{color: true, emoji: true, cfg: DisplayConfig{Color: map[Status]string{StatusFailed: "red", StatusSucceeded: "none"}}}
	var b strings.Builder
	writeTable(&b, []string{"ID", "STATUS", "EXIT"}, [][]cell{
		{{text: "1"}, d.status(StatusSucceeded), {text: "0"}},
		{{text: "12"}, d.status(StatusFailed), {text: "3"}},
	})
	want := "ID  STATUS        EXIT\n" +
		"1   ✅ Succeeded  0\n" +
		"12  \x1b[31m❌ Failed\x1b[0m     3\n"
	if b.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", b.String(), want)
	}
	d.emoji, d.color = false, false
	if c := d.status(StatusFailed); c.text != "Failed" || c.color != "" {
		t.Errorf("plain status = %+v", c)
	}
}
