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
