package main

// Durations as troc reads them, in settings and flags alike.

import (
	"fmt"
	"strings"
	"time"
)

// parseDuration parses a duration: Go's syntax (1h30m, 90s, 250ms) plus a
// "d" unit of 24 hours (7d, 1d12h). Negative durations are errors: nothing
// troc times can take less than nothing. Errors read well after a flag or a
// key name: invalid duration "x": why.
func parseDuration(s string) (time.Duration, error) {
	fail := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: %s", s, why)
	}
	const syntax = "want numbers with units (ns, us, ms, s, m, h, d), as in 90s or 1d12h"
	switch {
	case s == "":
		return fail("empty")
	case s == "0":
		return 0, nil
	case s[0] == '-':
		return fail("negative")
	}
	isNumber := func(r rune) bool { return r == '.' || '0' <= r && r <= '9' }
	var total time.Duration
	for rest := s; rest != ""; {
		// Each round takes one number and its unit: "1.5" and "h".
		n := strings.IndexFunc(rest, func(r rune) bool { return !isNumber(r) })
		if n <= 0 {
			return fail(syntax)
		}
		u := strings.IndexFunc(rest[n:], isNumber)
		if u < 0 {
			u = len(rest) - n
		}
		number, unit := rest[:n], rest[n:n+u]
		rest = rest[n+u:]
		if strings.Count(number, ".") > 1 || number == "." {
			return fail(syntax)
		}
		days := unit == "d"
		if days {
			unit = "h"
		}
		switch unit {
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		default:
			return fail(syntax)
		}
		// The syntax is checked, so an error can only be an overflow.
		d, err := time.ParseDuration(number + unit)
		if err != nil || days && d > maxDuration/24 {
			return fail("too large")
		}
		if days {
			d *= 24
		}
		if total > maxDuration-d {
			return fail("too large")
		}
		total += d
	}
	return total, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// formatDuration writes d the way a person reads it at a glance: 340ms,
// 12.5s, 3m04s, 2h03m, 3d04h.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + formatDuration(-d)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dd%02dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

// shortDuration rounds d to what a person wants to read: milliseconds
// under a minute, seconds above.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// msDuration is the inverse of settingsJSON's milliseconds: 0 for null.
func msDuration(ms *int64) time.Duration { return time.Duration(deref(ms)) * time.Millisecond }

// parseSince reads --since: a duration back from now, or a time in loc.
func parseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if d, err := parseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("invalid --since %q: want a duration back from now (90m, 2d) or a time (2026-11-25, 2026-11-25 14:00, 2026-11-25T14:00:00Z)", s)
}
