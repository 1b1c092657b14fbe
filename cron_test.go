package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateCron = flag.Bool("update-cron", false, "rewrite the golden files under testdata/cron")

// mustLocation loads a zone from the host's zoneinfo, as troc does.
func mustLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("this host has no zoneinfo for %s: %v", name, err)
	}
	return loc
}

// mustTime parses an RFC 3339 time and moves it to the location named loc
// ("" for UTC).
func mustTime(t testing.TB, s, loc string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	if loc == "" {
		return tm.UTC()
	}
	return tm.In(mustLocation(t, loc))
}

func mustParse(t testing.TB, s string) *Schedule {
	t.Helper()
	sched, err := ParseSchedule(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

// formatTime shows a time with its offset, which tells the two passes of a
// repeated hour apart, or "zero".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339)
}

// friday is a Friday morning in May: 2026-05-16 is a Saturday, 05-17 a
// Sunday, 05-18 a Monday and 06-01 a Monday.
const friday = "2026-05-15T10:20:30Z"

// The daylight-saving changes of 2026 that the tests cross:
//
//	America/New_York  03-08 02:00 EST -> 03:00 EDT   11-01 02:00 EDT -> 01:00 EST
//	Europe/Berlin     03-29 02:00 CET -> 03:00 CEST  10-25 03:00 CEST -> 02:00 CET
var scheduleTests = []struct {
	name  string
	sched string
	loc   string // of from; "" is UTC
	from  string
	want  string // Next(from), in RFC 3339 with the zone's offset
}{
	// Field forms.
	{name: "every minute", sched: "* * * * *", from: friday, want: "2026-05-15T10:21:00Z"},
	{name: "minute", sched: "5 * * * *", from: friday, want: "2026-05-15T11:05:00Z"},
	{name: "step", sched: "*/15 * * * *", from: friday, want: "2026-05-15T10:30:00Z"},
	{name: "range step", sched: "10-40/10 * * * *", from: friday, want: "2026-05-15T10:30:00Z"},
	{name: "range step ends", sched: "10-40/10 * * * *", from: "2026-05-15T10:41:00Z", want: "2026-05-15T11:10:00Z"},
	{name: "a/n is a-max/n", sched: "5/20 * * * *", from: friday, want: "2026-05-15T10:25:00Z"},
	{name: "a/n wraps to the next hour", sched: "5/20 * * * *", from: "2026-05-15T10:45:00Z", want: "2026-05-15T11:05:00Z"},
	{name: "list of items", sched: "0,50 9-11 * * *", from: friday, want: "2026-05-15T10:50:00Z"},
	{name: "list with a step", sched: "7,*/30 * * * *", from: friday, want: "2026-05-15T10:30:00Z"},
	{name: "hour step", sched: "0 */6 * * *", from: friday, want: "2026-05-15T12:00:00Z"},
	{name: "fixed time tomorrow", sched: "30 8 * * *", from: friday, want: "2026-05-16T08:30:00Z"},
	{name: "leading zeros", sched: "05 08 01 06 *", from: friday, want: "2026-06-01T08:05:00Z"},
	{name: "exact time is not next", sched: "0 * * * *", from: "2026-05-15T10:00:00Z", want: "2026-05-15T11:00:00Z"},
	{name: "first of month", sched: "0 0 1 * *", from: friday, want: "2026-06-01T00:00:00Z"},
	{name: "month name", sched: "0 0 * jun *", from: friday, want: "2026-06-01T00:00:00Z"},
	{name: "month names in any case", sched: "0 0 * JAN,Jul *", from: friday, want: "2026-07-01T00:00:00Z"},
	{name: "month name range", sched: "0 0 1 oct-dec *", from: friday, want: "2026-10-01T00:00:00Z"},
	{name: "weekday name", sched: "0 0 * * mon", from: friday, want: "2026-05-18T00:00:00Z"},
	{name: "weekday range over the weekend", sched: "0 0 * * MON-FRI", from: friday, want: "2026-05-18T00:00:00Z"},
	{name: "weekday later today", sched: "0 12 * * 5", from: friday, want: "2026-05-15T12:00:00Z"},
	{name: "sunday is 0", sched: "0 12 * * 0", from: friday, want: "2026-05-17T12:00:00Z"},
	{name: "sunday is 7", sched: "0 12 * * 7", from: friday, want: "2026-05-17T12:00:00Z"},
	{name: "sunday is sun", sched: "0 12 * * Sun", from: friday, want: "2026-05-17T12:00:00Z"},
	{name: "range ending on sunday", sched: "0 9 * * sat-sun", from: friday, want: "2026-05-16T09:00:00Z"},
	{name: "range ending on 7", sched: "0 9 * * 6-7", from: "2026-05-16T10:00:00Z", want: "2026-05-17T09:00:00Z"},
	{name: "7/n is sunday", sched: "0 9 * * 7/3", from: friday, want: "2026-05-17T09:00:00Z"},
	{name: "weekday step", sched: "0 0 * * */2", from: friday, want: "2026-05-16T00:00:00Z"}, // sun, tue, thu, sat

	// Vixie's day rule.
	{name: "both days restricted: either matches (weekday first)", sched: "0 0 1 * mon", from: friday, want: "2026-05-18T00:00:00Z"},
	{name: "both days restricted: either matches (day first)", sched: "0 0 16 * mon", from: friday, want: "2026-05-16T00:00:00Z"},
	{name: "odd days or mondays", sched: "0 0 1-31/2 * mon", from: friday, want: "2026-05-17T00:00:00Z"},
	{name: "*/2 counts as unrestricted: odd mondays", sched: "0 0 */2 * mon", from: friday, want: "2026-05-25T00:00:00Z"},
	{name: "*/7 weekday counts as unrestricted: the 13th on a sunday", sched: "0 0 13 * */7", from: friday, want: "2026-09-13T00:00:00Z"},

	// Month ends and leap days.
	{name: "leap day", sched: "0 0 29 2 *", from: "2025-03-01T00:00:00Z", want: "2028-02-29T00:00:00Z"},
	{name: "leap day skips 2100", sched: "0 0 29 2 *", from: "2096-03-01T00:00:00Z", want: "2104-02-29T00:00:00Z"},
	{name: "31st this month", sched: "0 0 31 * *", from: friday, want: "2026-05-31T00:00:00Z"},
	{name: "31st skips june", sched: "0 0 31 * *", from: "2026-06-01T00:00:00Z", want: "2026-07-31T00:00:00Z"},
	{name: "30th skips february", sched: "0 0 30 * *", from: "2026-02-01T00:00:00Z", want: "2026-03-30T00:00:00Z"},
	{name: "31st in a list of months", sched: "0 0 31 4,6,8 *", from: "2026-03-01T00:00:00Z", want: "2026-08-31T00:00:00Z"},

	// Year boundaries.
	{name: "new year", sched: "0 0 1 1 *", from: "2026-12-31T23:59:30Z", want: "2027-01-01T00:00:00Z"},
	{name: "last minute of the year", sched: "59 23 31 12 *", from: "2026-12-31T23:59:00Z", want: "2027-12-31T23:59:00Z"},
	{name: "step over the year", sched: "*/10 * * * *", from: "2026-12-31T23:55:00Z", want: "2027-01-01T00:00:00Z"},
	{name: "december monday over the year", sched: "0 0 * 12 mon", from: "2026-12-29T00:00:00Z", want: "2027-12-06T00:00:00Z"},

	// Macros.
	{name: "@hourly", sched: "@hourly", from: friday, want: "2026-05-15T11:00:00Z"},
	{name: "@daily", sched: "@daily", from: friday, want: "2026-05-16T00:00:00Z"},
	{name: "@midnight", sched: "@midnight", from: friday, want: "2026-05-16T00:00:00Z"},
	{name: "@weekly", sched: "@weekly", from: friday, want: "2026-05-17T00:00:00Z"},
	{name: "@monthly", sched: "@monthly", from: friday, want: "2026-06-01T00:00:00Z"},
	{name: "@yearly", sched: "@yearly", from: friday, want: "2027-01-01T00:00:00Z"},
	{name: "@annually", sched: "@annually", from: friday, want: "2027-01-01T00:00:00Z"},
	{name: "macro in upper case", sched: "@DAILY", from: friday, want: "2026-05-16T00:00:00Z"},
	{name: "@every to the minute", sched: "@every 90m", from: friday, want: "2026-05-15T11:50:00Z"},
	{name: "@every in days", sched: "@every 1d", from: friday, want: "2026-05-16T10:20:00Z"},
	{name: "@every is elapsed time across DST", sched: "@every 1h", loc: "America/New_York", from: "2026-11-01T01:30:00-04:00", want: "2026-11-01T01:30:00-05:00"},

	// Zones.
	{name: "t's location", sched: "0 9 * * *", loc: "America/New_York", from: friday, want: "2026-05-15T09:00:00-04:00"},
	{name: "CRON_TZ", sched: "CRON_TZ=Europe/Berlin 30 2 * * *", from: friday, want: "2026-05-16T02:30:00+02:00"},
	{name: "CRON_TZ wins over t's location", sched: "CRON_TZ=Europe/Berlin 30 2 * * *", loc: "America/New_York", from: friday, want: "2026-05-16T02:30:00+02:00"},
	{name: "TZ", sched: "TZ=Asia/Tokyo 0 9 * * *", from: friday, want: "2026-05-16T09:00:00+09:00"},
	{name: "CRON_TZ with a macro", sched: "CRON_TZ=Asia/Tokyo @daily", from: friday, want: "2026-05-16T00:00:00+09:00"},
	{name: "CRON_TZ=UTC", sched: "CRON_TZ=UTC 0 0 * * *", loc: "Asia/Tokyo", from: friday, want: "2026-05-16T00:00:00Z"},

	// Spring forward in New York: 02:00-02:59 does not exist on 03-08.
	{name: "NY gap: fixed time runs when the gap ends", sched: "30 2 * * *", loc: "America/New_York", from: "2026-03-07T12:00:00-05:00", want: "2026-03-08T03:00:00-04:00"},
	{name: "NY gap: the next day is normal", sched: "30 2 * * *", loc: "America/New_York", from: "2026-03-08T03:00:00-04:00", want: "2026-03-09T02:30:00-04:00"},
	{name: "NY gap: fixed hour on the hour", sched: "0 2 * * *", loc: "America/New_York", from: "2026-03-08T01:00:00-05:00", want: "2026-03-08T03:00:00-04:00"},
	{name: "NY gap: fixed times in and after the gap run once", sched: "0 2,3 * * *", loc: "America/New_York", from: "2026-03-08T01:00:00-05:00", want: "2026-03-08T03:00:00-04:00"},
	{name: "NY gap: and not again at 03:00", sched: "0 2,3 * * *", loc: "America/New_York", from: "2026-03-08T03:00:00-04:00", want: "2026-03-09T02:00:00-04:00"},
	{name: "NY gap: hourly skips the missing hour", sched: "15 * * * *", loc: "America/New_York", from: "2026-03-08T01:20:00-05:00", want: "2026-03-08T03:15:00-04:00"},
	{name: "NY gap: wildcard minute in the missing hour is skipped", sched: "*/15 2 * * *", loc: "America/New_York", from: "2026-03-08T01:00:00-05:00", want: "2026-03-09T02:00:00-04:00"},
	{name: "NY gap: before the change", sched: "30 1 * * *", loc: "America/New_York", from: "2026-03-07T12:00:00-05:00", want: "2026-03-08T01:30:00-05:00"},

	// Fall back in New York: 01:00-01:59 comes twice on 11-01.
	{name: "NY overlap: fixed time runs in the first pass", sched: "30 1 * * *", loc: "America/New_York", from: "2026-11-01T00:00:00-04:00", want: "2026-11-01T01:30:00-04:00"},
	{name: "NY overlap: fixed time does not run in the second pass", sched: "30 1 * * *", loc: "America/New_York", from: "2026-11-01T01:30:00-04:00", want: "2026-11-02T01:30:00-05:00"},
	{name: "NY overlap: from the second pass", sched: "30 1 * * *", loc: "America/New_York", from: "2026-11-01T01:10:00-05:00", want: "2026-11-02T01:30:00-05:00"},
	{name: "NY overlap: on the hour", sched: "0 1 * * *", loc: "America/New_York", from: "2026-11-01T00:30:00-04:00", want: "2026-11-01T01:00:00-04:00"},
	{name: "NY overlap: every 15 minutes runs in the second pass", sched: "*/15 * * * *", loc: "America/New_York", from: "2026-11-01T01:50:00-04:00", want: "2026-11-01T01:00:00-05:00"},
	{name: "NY overlap: hourly runs in both passes", sched: "30 * * * *", loc: "America/New_York", from: "2026-11-01T01:40:00-04:00", want: "2026-11-01T01:30:00-05:00"},
	{name: "NY overlap: wildcard minute in a fixed hour runs twice", sched: "*/20 1 * * *", loc: "America/New_York", from: "2026-11-01T01:50:00-04:00", want: "2026-11-01T01:00:00-05:00"},
	{name: "NY overlap: after the repeated hour", sched: "0 2 * * *", loc: "America/New_York", from: "2026-11-01T01:30:00-04:00", want: "2026-11-01T02:00:00-05:00"},

	// Spring forward in Berlin: 02:00-02:59 does not exist on 03-29.
	{name: "Berlin gap: fixed time", sched: "30 2 * * *", loc: "Europe/Berlin", from: "2026-03-29T00:00:00+01:00", want: "2026-03-29T03:00:00+02:00"},
	{name: "Berlin gap: hourly", sched: "10 * * * *", loc: "Europe/Berlin", from: "2026-03-29T01:50:00+01:00", want: "2026-03-29T03:10:00+02:00"},
	{name: "Berlin gap: CRON_TZ from UTC", sched: "CRON_TZ=Europe/Berlin 30 2 * * *", from: "2026-03-28T12:00:00Z", want: "2026-03-29T03:00:00+02:00"},
	{name: "Berlin gap: fixed time in a weekly job", sched: "30 2 * * sun", loc: "Europe/Berlin", from: "2026-03-23T00:00:00+01:00", want: "2026-03-29T03:00:00+02:00"},

	// Fall back in Berlin: 02:00-02:59 comes twice on 10-25.
	{name: "Berlin overlap: fixed time in the first pass", sched: "30 2 * * *", loc: "Europe/Berlin", from: "2026-10-25T00:00:00+02:00", want: "2026-10-25T02:30:00+02:00"},
	{name: "Berlin overlap: not in the second pass", sched: "30 2 * * *", loc: "Europe/Berlin", from: "2026-10-25T02:30:00+02:00", want: "2026-10-26T02:30:00+01:00"},
	{name: "Berlin overlap: every 30 minutes", sched: "*/30 * * * *", loc: "Europe/Berlin", from: "2026-10-25T02:45:00+02:00", want: "2026-10-25T02:00:00+01:00"},
	{name: "Berlin overlap: CRON_TZ hourly", sched: "CRON_TZ=Europe/Berlin 0 * * * *", from: "2026-10-25T00:30:00Z", want: "2026-10-25T02:00:00+01:00"},
}

func TestScheduleNext(t *testing.T) {
	for _, tt := range scheduleTests {
		t.Run(tt.name, func(t *testing.T) {
			sched := mustParse(t, tt.sched)
			from := mustTime(t, tt.from, tt.loc)
			if got := formatTime(sched.Next(from)); got != tt.want {
				t.Errorf("Next(%s) = %s, want %s", formatTime(from), got, tt.want)
			}
		})
	}
}

func TestSchedulePrev(t *testing.T) {
	tests := []struct {
		name  string
		sched string
		loc   string
		from  string
		want  string // Prev(from)
	}{
		{name: "earlier today", sched: "30 2 * * *", from: friday, want: "2026-05-15T02:30:00Z"},
		{name: "at t itself", sched: "0 * * * *", from: "2026-05-15T10:00:00Z", want: "2026-05-15T10:00:00Z"},
		{name: "step", sched: "*/15 * * * *", from: friday, want: "2026-05-15T10:15:00Z"},
		{name: "leap day", sched: "0 0 29 2 *", from: "2027-06-01T00:00:00Z", want: "2024-02-29T00:00:00Z"},
		{name: "odd mondays", sched: "0 0 */2 * mon", from: "2026-05-24T00:00:00Z", want: "2026-05-11T00:00:00Z"},
		{name: "over the year", sched: "0 0 31 12 *", from: "2026-12-30T23:59:00Z", want: "2025-12-31T00:00:00Z"},
		{name: "new year", sched: "0 0 1 1 *", from: "2026-12-31T23:59:00Z", want: "2026-01-01T00:00:00Z"},
		{name: "@every", sched: "@every 1h", from: friday, want: "2026-05-15T09:20:30Z"},
		{name: "CRON_TZ", sched: "CRON_TZ=Europe/Berlin 30 2 * * *", from: friday, want: "2026-05-15T02:30:00+02:00"},
		{name: "NY gap: fixed time ran when the gap ended", sched: "30 2 * * *", loc: "America/New_York", from: "2026-03-08T12:00:00-04:00", want: "2026-03-08T03:00:00-04:00"},
		{name: "NY gap: at the end of the gap", sched: "30 2 * * *", loc: "America/New_York", from: "2026-03-08T03:00:00-04:00", want: "2026-03-08T03:00:00-04:00"},
		{name: "NY gap: hourly skipped the missing hour", sched: "15 * * * *", loc: "America/New_York", from: "2026-03-08T03:10:00-04:00", want: "2026-03-08T01:15:00-05:00"},
		{name: "NY overlap: fixed time ran in the first pass", sched: "30 1 * * *", loc: "America/New_York", from: "2026-11-01T01:45:00-05:00", want: "2026-11-01T01:30:00-04:00"},
		{name: "NY overlap: every 15 minutes in the second pass", sched: "*/15 * * * *", loc: "America/New_York", from: "2026-11-01T01:05:00-05:00", want: "2026-11-01T01:00:00-05:00"},
		{name: "NY overlap: every 15 minutes in the first pass", sched: "*/15 * * * *", loc: "America/New_York", from: "2026-11-01T01:59:59-04:00", want: "2026-11-01T01:45:00-04:00"},
		{name: "Berlin overlap: fixed time", sched: "30 2 * * *", loc: "Europe/Berlin", from: "2026-10-25T02:45:00+01:00", want: "2026-10-25T02:30:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched := mustParse(t, tt.sched)
			from := mustTime(t, tt.from, tt.loc)
			if got := formatTime(sched.Prev(from)); got != tt.want {
				t.Errorf("Prev(%s) = %s, want %s", formatTime(from), got, tt.want)
			}
		})
	}
}

// TestScheduleFiresAcrossDST lists every time a job fires on the days the
// clocks change, which shows at once what runs twice, once or not at all.
func TestScheduleFiresAcrossDST(t *testing.T) {
	tests := []struct {
		name     string
		sched    string
		loc      string
		from, to string
		want     []string // times from Next, as 15:04-07 in loc
	}{
		{
			name: "NY spring: fixed time", sched: "30 2 * * *", loc: "America/New_York",
			from: "2026-03-07T00:00:00-05:00", to: "2026-03-10T00:00:00-04:00",
			want: []string{"02:30-05", "03:00-04", "02:30-04"},
		},
		{
			name: "NY spring: every 30 minutes", sched: "*/30 * * * *", loc: "America/New_York",
			from: "2026-03-08T00:45:00-05:00", to: "2026-03-08T04:00:00-04:00",
			want: []string{"01:00-05", "01:30-05", "03:00-04", "03:30-04", "04:00-04"},
		},
		{
			name: "NY fall: fixed time", sched: "30 1 * * *", loc: "America/New_York",
			from: "2026-10-31T00:00:00-04:00", to: "2026-11-03T00:00:00-05:00",
			want: []string{"01:30-04", "01:30-04", "01:30-05"},
		},
		{
			name: "NY fall: every 30 minutes", sched: "*/30 * * * *", loc: "America/New_York",
			from: "2026-11-01T00:45:00-04:00", to: "2026-11-01T02:30:00-05:00",
			want: []string{"01:00-04", "01:30-04", "01:00-05", "01:30-05", "02:00-05", "02:30-05"},
		},
		{
			name: "Berlin fall: fixed times around the repeated hour", sched: "0 1-3 * * *", loc: "Europe/Berlin",
			from: "2026-10-25T00:00:00+02:00", to: "2026-10-25T04:00:00+01:00",
			want: []string{"01:00+02", "02:00+02", "03:00+01"},
		},
		{
			name: "Berlin spring: fixed times around the missing hour", sched: "0 1-3 * * *", loc: "Europe/Berlin",
			from: "2026-03-29T00:00:00+01:00", to: "2026-03-29T04:00:00+02:00",
			want: []string{"01:00+01", "03:00+02"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched := mustParse(t, tt.sched)
			to := mustTime(t, tt.to, tt.loc)
			var got []string
			for at := mustTime(t, tt.from, tt.loc); ; {
				at = sched.Next(at)
				if at.After(to) {
					break
				}
				got = append(got, at.Format("15:04-07"))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("fires at %v, want %v", got, tt.want)
			}
		})
	}
}

// TestScheduleNextMatchesScan compares Next and Prev in UTC with a minute
// by minute scan, for schedules of every shape and from many times.
func TestScheduleNextMatchesScan(t *testing.T) {
	schedules := []string{
		"* * * * *", "*/7 * * * *", "0 0 * * *", "59 23 * * *", "5/20 3-5 * * *",
		"0 12 1,15 * *", "0 12 1 * mon", "0 12 */2 * mon", "0 12 * * 0", "30 6 * 2 *",
		"0 0 31 * *", "0 0 29 2 *", "0 0 13 * fri", "15 10 * * mon-fri", "0 0 1 jan,jul *",
	}
	// The rule, as plainly as it can be written.
	has := func(set uint64, n int) bool { return set&(1<<n) != 0 }
	dayMatches := func(s *Schedule, t time.Time) bool {
		dom, dow := has(s.dom, t.Day()), has(s.dow, int(t.Weekday()))
		if s.domStar || s.dowStar {
			return dom && dow && has(s.month, int(t.Month()))
		}
		return (dom || dow) && has(s.month, int(t.Month()))
	}
	matches := func(s *Schedule, t time.Time) bool {
		return dayMatches(s, t) && has(s.minute, t.Minute()) && has(s.hour, t.Hour())
	}
	// A day that does not match is passed in one step, or the leap
	// days would take minutes.
	const day = 24 * time.Hour
	rng := rand.New(rand.NewPCG(1, 2))
	start := mustTime(t, "2026-01-01T00:00:00Z", "")
	for _, text := range schedules {
		sched := mustParse(t, text)
		for range 20 {
			from := start.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
			want := from.Truncate(time.Minute).Add(time.Minute)
			for !matches(sched, want) {
				if !dayMatches(sched, want) {
					want = want.Truncate(day).Add(day)
					continue
				}
				want = want.Add(time.Minute)
			}
			if got := sched.Next(from); !got.Equal(want) {
				t.Errorf("%q: Next(%s) = %s, want %s", text, formatTime(from), formatTime(got), formatTime(want))
			}
			want = from.Truncate(time.Minute)
			for !matches(sched, want) {
				if !dayMatches(sched, want) {
					want = want.Truncate(day).Add(-time.Minute)
					continue
				}
				want = want.Add(-time.Minute)
			}
			if got := sched.Prev(from); !got.Equal(want) {
				t.Errorf("%q: Prev(%s) = %s, want %s", text, formatTime(from), formatTime(got), formatTime(want))
			}
		}
	}
}

func TestScheduleString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"as written", "*/5 1-3 * JAN mon", "*/5 1-3 * JAN mon"},
		{"spaces", " \t0  0\t* * *  ", "0 0 * * *"},
		{"TZ", "TZ=Europe/Berlin 30 2 * * *", "CRON_TZ=Europe/Berlin 30 2 * * *"},
		{"CRON_TZ", "CRON_TZ=America/New_York  @daily", "CRON_TZ=America/New_York @daily"},
		{"macro case", "@Weekly", "@weekly"},
		{"@every", "@EVERY  1h30m", "@every 1h30m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.in).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// errorCase is one schedule of testdata/cron/errors.txt: the comment lines
// before it, the schedule, and the error recorded for it.
type errorCase struct {
	comment []string
	in      string
	err     string
}

// readErrorCases reads the golden file: comment lines (# or empty), then
// each schedule as a Go string on its own line, followed by its error on a
// line indented by a tab.
func readErrorCases(t *testing.T, file string) []errorCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []errorCase
	var comment []string
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			comment = append(comment, line)
		case strings.HasPrefix(line, "\t"):
			if len(cases) == 0 || cases[len(cases)-1].err != "" {
				t.Fatalf("%s:%d: an error line without its schedule", file, i+1)
			}
			cases[len(cases)-1].err = line[1:]
		default:
			in, err := strconv.Unquote(line)
			if err != nil {
				t.Fatalf("%s:%d: want a quoted schedule: %v", file, i+1, err)
			}
			cases = append(cases, errorCase{comment: comment, in: in})
			comment = nil
		}
	}
	return cases
}

// TestScheduleErrors parses each schedule of testdata/cron/errors.txt and
// compares its error with the one recorded there, or records them all with
// -update-cron.
func TestScheduleErrors(t *testing.T) {
	const file = "testdata/cron/errors.txt"
	var b strings.Builder
	for _, c := range readErrorCases(t, file) {
		for _, line := range c.comment {
			b.WriteString(line + "\n")
		}
		msg := "(no error)"
		if _, err := ParseSchedule(c.in); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error", c.in)
		} else {
			msg = err.Error()
			checkScheduleError(t, c.in, err)
		}
		fmt.Fprintf(&b, "%s\n\t%s\n", strconv.Quote(c.in), msg)
	}
	got := b.String()
	if *updateCron {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update-cron rewrites it):\ngot:\n%s\nwant:\n%s", file, t.Name(), got, want)
	}
}

// checkScheduleError fails the test unless err is one line that starts by
// quoting the schedule.
func checkScheduleError(t *testing.T, in string, err error) {
	t.Helper()
	msg := err.Error()
	prefix := fmt.Sprintf("schedule %q: ", in)
	if !strings.HasPrefix(msg, prefix) || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q: want one line starting with %q", msg, prefix)
	}
}

// FuzzParseSchedule checks that any text parses or fails with a one-line
// error, and that a schedule that parses fires, always at the same times,
// after t for Next and at or before it for Prev, the two agreeing, and the
// same once written by String and parsed again.
func FuzzParseSchedule(f *testing.F) {
	for _, tt := range scheduleTests {
		f.Add(tt.sched)
	}
	if data, err := os.ReadFile("testdata/cron/errors.txt"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if in, err := strconv.Unquote(line); err == nil {
				f.Add(in)
			}
		}
	}
	times := []time.Time{
		mustTime(f, friday, ""),
		mustTime(f, "2026-03-08T01:59:59-05:00", "America/New_York"),
		mustTime(f, "2026-11-01T01:30:00-04:00", "America/New_York"),
		mustTime(f, "2026-11-01T01:30:00-05:00", "America/New_York"),
		mustTime(f, "2026-10-25T02:30:00+02:00", "Europe/Berlin"),
		mustTime(f, "2028-02-29T23:59:00+11:00", "Australia/Sydney"),
	}
	f.Fuzz(func(t *testing.T, in string) {
		sched, err := ParseSchedule(in)
		if err != nil {
			checkScheduleError(t, in, err)
			return
		}
		again, err := ParseSchedule(sched.String())
		if err != nil {
			t.Fatalf("String() = %q does not parse: %v", sched.String(), err)
		}
		if again.String() != sched.String() {
			t.Errorf("String() = %q parses to %q, want the same", sched.String(), again.String())
		}
		for _, at := range times {
			next := sched.Next(at)
			if !next.After(at) {
				t.Fatalf("%q: Next(%s) = %s, want a time after it", in, formatTime(at), formatTime(next))
			}
			if n := sched.Next(at); !n.Equal(next) {
				t.Fatalf("%q: Next(%s) = %s, then %s; want the same both times", in, formatTime(at), formatTime(next), formatTime(n))
			}
			if n := again.Next(at); !n.Equal(next) {
				t.Fatalf("%q: Next(%s) = %s, but %s after String and parse; want the same", in, formatTime(at), formatTime(next), formatTime(n))
			}
			prev := sched.Prev(at)
			if prev.IsZero() || prev.After(at) {
				t.Fatalf("%q: Prev(%s) = %s, want a time at or before it", in, formatTime(at), formatTime(prev))
			}
			if sched.every > 0 {
				continue // no times of its own, nothing to agree on
			}
			if p := sched.Prev(next); !p.Equal(next) {
				t.Fatalf("%q: Prev(Next(%s)) = %s, want %s", in, formatTime(at), formatTime(p), formatTime(next))
			}
			if n := sched.Next(prev); !n.Equal(next) {
				t.Fatalf("%q: Next(Prev(%s)) = %s, want Next = %s", in, formatTime(at), formatTime(n), formatTime(next))
			}
		}
	})
}

// BenchmarkScheduleNext is what troc check does per job: a Next from now,
// over a mix of schedules.
func BenchmarkScheduleNext(b *testing.B) {
	texts := []string{
		"*/5 * * * *", "0 3 * * *", "30 2 * * sun", "0 0 1 * *", "0 0 29 2 *",
		"0 9-17 * * mon-fri", "@hourly", "CRON_TZ=Europe/Berlin 30 2 * * *",
		"CRON_TZ=America/New_York 0 */6 * * *", "0 0 */2 * mon",
	}
	var scheds []*Schedule
	for _, text := range texts {
		scheds = append(scheds, mustParse(b, text))
	}
	now := mustTime(b, friday, "Europe/Berlin")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		scheds[i%len(scheds)].Next(now)
	}
}
