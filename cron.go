package main

// Schedules are cron expressions: they say when a job should run, so that
// troc can tell whether it did. The language is Vixie cron's, and so are
// its rules where crons disagree:
//
//   - Five fields: minute hour day-of-month month day-of-week. Each is a
//     list of items: *, a number, a range a-b, a step */n or a-b/n. Month
//     and day names (jan-dec, sun-sat, any case) stand for numbers, also in
//     ranges. Day of week 0 and 7 are both Sunday, and a range may end on
//     Sunday (fri-sun is 5-7).
//   - a/n, which Vixie refuses, means a-max/n as in most other crons: 5/15
//     in the minute field is 5,20,35,50. In the day-of-week field, max is 6.
//   - When both day fields are restricted, a day matches if EITHER does
//     (0 0 1 * mon: the 1st and every Monday). A field that starts with *
//     counts as unrestricted, even */2, and then a day must match both
//     (0 0 */2 * mon: odd-numbered days that are Mondays). This is Vixie's
//     test of the field's first character, kept, surprising as it is,
//     because crontabs are written for it.
//   - Macros: @hourly, @daily (@midnight), @weekly, @monthly, @yearly
//     (@annually), and @every DURATION. @reboot is refused: troc has no
//     daemon that sees the host boot, so it cannot say when such a job is
//     due.
//   - @every runs on elapsed time, not on the clock: the next run is due
//     DURATION after the last one started, to the minute, so the caller
//     passes the last run's start to Next. DURATION is written as troc's
//     other durations (90m, 6h, 1d12h) and is a whole number of minutes, at
//     least one, because cron starts jobs on the minute.
//   - CRON_TZ=Zone (or TZ=Zone) before the fields reads them in that zone
//     rather than in the zone of the time given. Zones come from the host's
//     zoneinfo through time.LoadLocation, as cron's own do.
//   - A schedule that can never fire, such as 0 0 30 2 * (February 30th),
//     is an error rather than a job that is never due.
//
// Daylight saving time follows ISC cron. Fixed-time jobs, whose minute and
// hour fields do not start with *, keep their runs whatever the clocks do:
// the times skipped when the clocks go forward run once, when the gap ends
// (30 2 runs at 03:00 on the day 02:00 becomes 03:00), and a time repeated
// when they go back runs the first time only. Other jobs follow the wall
// clock: */15 * * * * skips the times that do not exist and runs in both
// passes of a repeated hour, as a job every quarter of an hour should.
// ISC cron applies this to changes under three hours; troc to any change of
// offset, whatever its size.

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed job schedule. Its zero value is not usable: get one
// from ParseSchedule.
type Schedule struct {
	text  string         // normalised, for String
	loc   *time.Location // from CRON_TZ; nil: the location of the time given
	every time.Duration  // @every's interval; zero for a five-field schedule

	// Bit n of each set is on when the field matches the value n.
	minute, hour, dom, month, dow uint64
	// The day field starts with *, which decides how the two combine.
	domStar, dowStar bool
	// Neither minute nor hour starts with *: see the DST rules above.
	fixed bool
}

// String returns the schedule normalised: words separated by one space,
// TZ= written CRON_TZ= and macros in lower case. It parses to the same
// schedule.
func (s *Schedule) String() string { return s.text }

// horizonYears is how far Next and Prev look for a time. The Gregorian
// calendar repeats every 400 years, so a schedule that does not fire within
// that never fires; ParseSchedule refuses those, and the rarest it accepts
// (the 29th of February on a given weekday) fires every 40 years or less.
const horizonYears = 401

// macros are the @names that stand for five fields.
var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// ParseSchedule parses a cron schedule: five fields or a @macro, possibly
// after CRON_TZ=Zone. Errors are one line that quotes s, names the field
// and says what is wrong with it.
func ParseSchedule(s string) (*Schedule, error) {
	sched, err := parseSchedule(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sched, nil
}

// parseSchedule is ParseSchedule without the schedule in its errors.
func parseSchedule(s string) (*Schedule, error) {
	words := strings.Fields(s)
	sched := &Schedule{}
	var prefix string
	if len(words) > 0 {
		key, zone, ok := strings.Cut(words[0], "=")
		if ok && (key == "CRON_TZ" || key == "TZ") {
			if zone == "" {
				return nil, fmt.Errorf("%s= names no time zone", key)
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return nil, fmt.Errorf("unknown time zone %q", zone)
			}
			sched.loc = loc
			prefix = "CRON_TZ=" + zone + " "
			words = words[1:]
		}
	}
	if len(words) == 0 {
		if prefix != "" {
			return nil, errors.New("no fields after the time zone")
		}
		return nil, errors.New("empty")
	}

	if strings.HasPrefix(words[0], "@") {
		name := strings.ToLower(words[0])
		switch name {
		case "@every":
			if len(words) != 2 {
				return nil, errors.New("@every wants one duration, as in @every 6h")
			}
			d, err := parseEvery(words[1])
			if err != nil {
				return nil, err
			}
			sched.every = d
			sched.text = prefix + name + " " + words[1]
			return sched, nil
		case "@reboot":
			return nil, errors.New("@reboot is not supported: troc has no daemon that sees the host boot, so it cannot tell when such a job is due")
		}
		fields, ok := macros[name]
		if !ok {
			return nil, fmt.Errorf("unknown macro %s (want @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @every DURATION)", words[0])
		}
		if len(words) > 1 {
			return nil, fmt.Errorf("unexpected %q after %s", words[1], name)
		}
		if err := sched.parseFields(strings.Fields(fields)); err != nil {
			return nil, err
		}
		sched.text = prefix + name
		return sched, nil
	}

	if len(words) != 5 {
		return nil, fmt.Errorf("wrong number of fields: %d, want 5 (minute hour day-of-month month day-of-week) or a @macro", len(words))
	}
	if err := sched.parseFields(words); err != nil {
		return nil, err
	}
	sched.text = prefix + strings.Join(words, " ")
	return sched, nil
}

// parseEvery parses @every's interval: troc's durations (Go's, and d for
// days), a whole number of minutes.
func parseEvery(text string) (time.Duration, error) {
	d, err := parseDuration(text)
	switch {
	case err != nil:
		return 0, fmt.Errorf("@every: %v", err)
	case d < time.Minute:
		return 0, fmt.Errorf("@every %s: want at least 1m (cron starts jobs once a minute at most)", text)
	case d%time.Minute != 0:
		return 0, fmt.Errorf("@every %s: want a whole number of minutes (cron starts jobs on the minute)", text)
	}
	return d, nil
}

// A cronField describes one of the five fields.
type cronField struct {
	name     string
	min, max int
	starMax  int      // the end of * and of a/n
	names    []string // names of min, min+1...
	nameKind string   // "month" or "day", for errors
}

var (
	minuteField = cronField{name: "minute", min: 0, max: 59, starMax: 59}
	hourField   = cronField{name: "hour", min: 0, max: 23, starMax: 23}
	domField    = cronField{name: "day-of-month", min: 1, max: 31, starMax: 31}
	monthField  = cronField{name: "month", min: 1, max: 12, starMax: 12, nameKind: "month",
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	// 7 is Sunday again, but * stops at Saturday so that it does not
	// count Sunday twice in */n.
	dowField = cronField{name: "day-of-week", min: 0, max: 7, starMax: 6, nameKind: "day",
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// parseFields sets the fields of s from five words.
func (s *Schedule) parseFields(words []string) error {
	sets := []*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, f := range []*cronField{&minuteField, &hourField, &domField, &monthField, &dowField} {
		set, err := f.parse(words[i])
		if err != nil {
			return fmt.Errorf("%s field %q: %w", f.name, words[i], err)
		}
		*sets[i] = set
	}
	if s.dow&(1<<7) != 0 {
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar = strings.HasPrefix(words[2], "*")
	s.dowStar = strings.HasPrefix(words[4], "*")
	s.fixed = !strings.HasPrefix(words[0], "*") && !strings.HasPrefix(words[1], "*")

	// Only the day of month can make a schedule impossible, and only when
	// it must match (the other field starts with *): every month has every
	// weekday, and over 400 years every date falls on every weekday.
	if !s.domStar && s.dowStar && !s.dayInMonths() {
		return fmt.Errorf("day-of-month %q never occurs in month %q, so the schedule never fires", words[2], words[3])
	}
	return nil
}

// dayInMonths reports whether some day of s.dom exists in some month of
// s.month, in a leap year.
func (s *Schedule) dayInMonths() bool {
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) != 0 && s.dom&(1<<(days[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// parse returns the set of values that text, one field, matches.
func (f *cronField) parse(text string) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return 0, errors.New("empty list item")
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		if strings.Count(item, "/") > 1 {
			return 0, fmt.Errorf(`%q has more than one "/"`, item)
		}
		if rng == "" {
			return 0, fmt.Errorf(`%q has nothing before "/"`, item)
		}
		lo, hi := f.min, f.starMax
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			switch {
			case strings.Count(rng, "-") > 1:
				return 0, fmt.Errorf(`range %q has more than one "-"`, rng)
			case isRange && (a == "" || b == ""):
				return 0, fmt.Errorf("range %q is missing a bound", rng)
			case strings.Contains(rng, "*"):
				return 0, fmt.Errorf("%q: * stands alone or before a step, as in */5", rng)
			}
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			switch {
			case isRange:
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if f == &dowField && hi == 0 && lo > 0 {
					hi = 7 // fri-sun
				}
				if hi < lo {
					return 0, fmt.Errorf("range %s is backwards", rng)
				}
			case hasStep:
				hi = max(lo, f.starMax) // a/n
			default:
				hi = lo
			}
		}
		step := 1
		if hasStep {
			var err error
			if step, err = f.step(stepText); err != nil {
				return 0, err
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// value parses a number or a name of the field.
func (f *cronField) value(text string) (int, error) {
	if !isDigits(text) {
		lower := strings.ToLower(text) // not EqualFold, which takes ſun for sun
		for i, name := range f.names {
			if lower == name {
				return f.min + i, nil
			}
		}
		if f.names != nil {
			return 0, fmt.Errorf("unknown %s %q (want %d-%d or %s-%s)", f.nameKind, text, f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return 0, fmt.Errorf("%q is not a number", text)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < f.min || n > f.max {
		return 0, fmt.Errorf("%s is out of range %d-%d", text, f.min, f.max)
	}
	return n, nil
}

// step parses the n of */n.
func (f *cronField) step(text string) (int, error) {
	most := f.starMax - f.min + 1
	if text == "" {
		return 0, errors.New(`missing step after "/"`)
	}
	if !isDigits(text) {
		return 0, fmt.Errorf("step %q is not a number", text)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n > most {
		return 0, fmt.Errorf("step %s is out of range 1-%d", text, most)
	}
	if n == 0 {
		return 0, errors.New("step 0 never advances (want 1 or more)")
	}
	return n, nil
}

// isDigits reports whether s is a non-empty run of ASCII digits, which
// strconv.Atoi alone would not check: it takes signs.
func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Next returns the first time strictly after t at which the schedule fires,
// in the schedule's zone if it has one, else in t's location. For @every it
// is t, to the minute, plus the interval: pass the start of the last run.
// It returns the zero Time if the schedule does not fire within 400 years,
// which only happens near the end of time.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.In(s.location(t))
	if s.every > 0 {
		return t.Truncate(time.Minute).Add(s.every)
	}
	// Walk the zones from t's on. Inside one, the wall clock and the
	// instant convert one to one; where one meets the next, the DST rules
	// decide what happens to the times skipped or repeated.
	end := t.AddDate(horizonYears, 0, 0)
	for z, first := zoneAt(t), true; ; z, first = zoneAt(z.end), false {
		var lo time.Time // the first wall-clock minute to try
		if first {
			lo = z.wall(t).Truncate(time.Minute).Add(time.Minute)
		} else {
			if s.fixed && z.prevOffset < z.offset && s.firesIn(z.gap()) {
				return z.start
			}
			lo = ceilMinute(z.wall(z.start))
		}
		if s.fixed && z.prevOffset > z.offset {
			lo = later(lo, ceilMinute(z.prevWall()))
		}
		last := z.end.IsZero() || z.end.After(end)
		limit := z.wall(end)
		if !last {
			limit = z.wall(z.end)
		}
		if w, ok := s.nextWall(lo, limit); ok {
			return z.instant(w)
		}
		if last {
			return time.Time{}
		}
	}
}

// Prev returns the last time at or before t at which the schedule fired, in
// the location Next would use, or the zero Time if it did not fire within
// 400 years. For @every, which has no times of its own, it returns t minus
// the interval: a job on time has started since then.
func (s *Schedule) Prev(t time.Time) time.Time {
	t = t.In(s.location(t))
	if s.every > 0 {
		return t.Add(-s.every)
	}
	// Walk the zones from t's back, as Next walks them forward.
	end := t.AddDate(-horizonYears, 0, 0)
	for z, first := zoneAt(t), true; ; z, first = zoneAt(z.start.Add(-time.Nanosecond)), false {
		var hi time.Time // the last wall-clock minute to try
		if first {
			hi = z.wall(t).Truncate(time.Minute)
		} else {
			hi = z.wall(z.end.Add(-time.Nanosecond)).Truncate(time.Minute)
		}
		last := z.start.IsZero() || z.start.Before(end)
		limit := ceilMinute(z.wall(end))
		if !last {
			limit = ceilMinute(z.wall(z.start))
		}
		if s.fixed && z.prevOffset > z.offset {
			limit = later(limit, ceilMinute(z.prevWall()))
		}
		if w, ok := s.prevWall(hi, limit); ok {
			return z.instant(w)
		}
		if last {
			return time.Time{}
		}
		if s.fixed && z.prevOffset < z.offset && s.firesIn(z.gap()) {
			return z.start
		}
	}
}

// location returns the zone that the fields are read in for t.
func (s *Schedule) location(t time.Time) *time.Location {
	if s.loc != nil {
		return s.loc
	}
	return t.Location()
}

// firesIn reports whether the fields match a wall-clock minute in [lo, hi).
func (s *Schedule) firesIn(lo, hi time.Time) bool {
	_, ok := s.nextWall(ceilMinute(lo), hi)
	return ok
}

// nextWall returns the first minute from w, and before limit, that the
// fields match. Wall-clock times are written as UTC times that read the
// same, so that the calendar arithmetic has no DST in its way.
func (s *Schedule) nextWall(w, limit time.Time) (time.Time, bool) {
	for w.Before(limit) {
		y, mo, d := w.Date()
		h, mi, _ := w.Clock()
		if m := nextBit(s.month, int(mo)); m != int(mo) {
			if m < 0 {
				w = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
			} else {
				w = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			}
			continue
		}
		if !s.dayMatches(d, w.Weekday()) {
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if hh := nextBit(s.hour, h); hh != h {
			if hh < 0 {
				w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			} else {
				w = time.Date(y, mo, d, hh, 0, 0, 0, time.UTC)
			}
			continue
		}
		m := nextBit(s.minute, mi)
		if m < 0 {
			w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
			continue
		}
		w = time.Date(y, mo, d, h, m, 0, 0, time.UTC)
		return w, w.Before(limit)
	}
	return time.Time{}, false
}

// prevWall returns the last minute at or before w, and not before limit,
// that the fields match. It is nextWall backwards.
func (s *Schedule) prevWall(w, limit time.Time) (time.Time, bool) {
	for !w.Before(limit) {
		y, mo, d := w.Date()
		h, mi, _ := w.Clock()
		// time.Date with minute -1 is the last minute of the hour, day or
		// month before.
		if m := prevBit(s.month, int(mo)); m != int(mo) {
			if m < 0 {
				w = time.Date(y, 1, 1, 0, -1, 0, 0, time.UTC)
			} else {
				w = time.Date(y, time.Month(m+1), 1, 0, -1, 0, 0, time.UTC)
			}
			continue
		}
		if !s.dayMatches(d, w.Weekday()) {
			w = time.Date(y, mo, d, 0, -1, 0, 0, time.UTC)
			continue
		}
		if hh := prevBit(s.hour, h); hh != h {
			if hh < 0 {
				w = time.Date(y, mo, d, 0, -1, 0, 0, time.UTC)
			} else {
				w = time.Date(y, mo, d, hh+1, -1, 0, 0, time.UTC)
			}
			continue
		}
		m := prevBit(s.minute, mi)
		if m < 0 {
			w = time.Date(y, mo, d, h, -1, 0, 0, time.UTC)
			continue
		}
		w = time.Date(y, mo, d, h, m, 0, 0, time.UTC)
		return w, !w.Before(limit)
	}
	return time.Time{}, false
}

// dayMatches applies Vixie's rule to the day fields: either one when both
// are restricted, else both.
func (s *Schedule) dayMatches(day int, weekday time.Weekday) bool {
	domOK := s.dom&(1<<day) != 0
	dowOK := s.dow&(1<<weekday) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// nextBit returns the lowest bit of set at or above n, or -1.
func nextBit(set uint64, n int) int {
	set &^= 1<<n - 1
	if set == 0 {
		return -1
	}
	return bits.TrailingZeros64(set)
}

// prevBit returns the highest bit of set at or below n, or -1.
func prevBit(set uint64, n int) int {
	set &= 1<<(n+1) - 1
	if set == 0 {
		return -1
	}
	return 63 - bits.LeadingZeros64(set)
}

// A zone is a stretch of time with one UTC offset, between two of the
// location's transitions: the wall clock and the instant convert one to
// one inside it, and the DST rules apply at its start.
type zone struct {
	loc        *time.Location
	start, end time.Time // zero: since or until the end of time
	offset     int       // seconds east of UTC
	prevOffset int       // the offset before start
}

// zoneAt returns the zone that t is in.
func zoneAt(t time.Time) zone {
	z := zone{loc: t.Location()}
	_, z.offset = t.Zone()
	z.start, z.end = t.ZoneBounds()
	z.prevOffset = z.offset
	if !z.start.IsZero() {
		_, z.prevOffset = z.start.Add(-time.Nanosecond).Zone()
	}
	return z
}

// wall returns what the zone's clock reads at t, as a UTC time.
func (z zone) wall(t time.Time) time.Time {
	return t.UTC().Add(time.Duration(z.offset) * time.Second)
}

// instant returns the time at which the zone's clock reads w.
func (z zone) instant(w time.Time) time.Time {
	return w.Add(-time.Duration(z.offset) * time.Second).In(z.loc)
}

// prevWall returns what the clock read as the zone started, before it
// changed: after clocks go back, the times before it come again.
func (z zone) prevWall() time.Time {
	return z.start.UTC().Add(time.Duration(z.prevOffset) * time.Second)
}

// gap returns the wall-clock times skipped as clocks went forward at the
// start of the zone.
func (z zone) gap() (lo, hi time.Time) {
	return z.prevWall(), z.wall(z.start)
}

// ceilMinute rounds t up to a whole minute.
func ceilMinute(t time.Time) time.Time {
	if u := t.Truncate(time.Minute); !u.Equal(t) {
		return u.Add(time.Minute)
	}
	return t
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
