package main

// A job's recent runs, as its row keeps them (schema/NNNN_run_insights.sql):
// the latest finished runs (not an attempt that --retry ran again: the
// last attempt stands for the run), for the strip of job list and ui (strip.go)
// and for "started too often", and the latest successful ones, for the
// anomalies of a run's duration and output (anomaly.go). countRun keeps
// both current in the write that ends a run, so that reading them costs
// nothing beyond the job's row, however long the history.

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// recentRuns is how many finished runs a job's strip shows, and
// recentSuccesses how many successful runs its row keeps: the run judged
// and the 20 it is judged against.
const (
	recentRuns      = 20
	recentSuccesses = recentRuns + 1
)

// recentRun is one run in a job's recent summary.
type recentRun struct {
	ID       int64
	Status   Status
	Start    time.Time
	Duration time.Duration
	Output   int64 // bytes the job wrote
}

// statusLetters are the letters a strip shows without colour, and the
// summary stores.
var statusLetters = map[Status]byte{
	StatusSucceeded: '.', StatusFailed: 'F', StatusSkipped: 'S', StatusTimedOut: 'T', StatusTerminated: 'X', StatusRunning: 'R',
}

// letterStatus is the inverse of statusLetters.
func letterStatus(b byte) Status {
	switch b {
	case '.':
		return StatusSucceeded
	case 'F':
		return StatusFailed
	case 'S':
		return StatusSkipped
	case 'T':
		return StatusTimedOut
	case 'R':
		return StatusRunning
	}
	return StatusTerminated
}

// parseRecent reads a summary column, oldest run first. What it cannot
// read it passes over: the column is troc's, and only a summary, never
// the runs themselves. It reads the column in one pass without
// allocating but the result: job list and check parse two per job.
func parseRecent(s string) []recentRun {
	out := make([]recentRun, 0, strings.Count(s, " ")+1)
	sorted := true
	for len(s) > 0 {
		var e string
		e, s, _ = strings.Cut(s, " ")
		var f [5]string
		n := 0
		for n < 4 {
			var ok bool
			if f[n], e, ok = strings.Cut(e, ","); !ok {
				break
			}
			n++
		}
		f[4] = e
		if n != 4 || len(f[1]) != 1 {
			continue
		}
		id, ok1 := atoi(f[0])
		start, ok2 := atoi(f[2])
		dur, ok3 := atoi(f[3])
		output, ok4 := atoi(f[4])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			continue
		}
		r := recentRun{ID: id, Status: letterStatus(f[1][0]), Start: time.UnixMilli(start).UTC(),
			Duration: time.Duration(dur) * time.Millisecond, Output: output}
		if len(out) > 0 && startOrder(out[len(out)-1], r) >= 0 {
			sorted = false
		}
		out = append(out, r)
	}
	if !sorted {
		slices.SortFunc(out, startOrder)
	}
	return out
}

// startOrder orders runs by their start, then by id. Ids grow with time,
// but for a run that reached the history late, from the spool: it has a
// later id than the runs that started after it.
func startOrder(a, b recentRun) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// recentRuns are the job's latest finished runs, oldest first.
func (s *jobState) recentRuns() []recentRun {
	if s.Recent == nil && s.recentText != "" {
		s.Recent, s.recentText = parseRecent(s.recentText), ""
	}
	return s.Recent
}

// recentOKRuns are the job's latest successful runs, oldest first.
func (s *jobState) recentOKRuns() []recentRun {
	if s.RecentOK == nil && s.recentOKText != "" {
		s.RecentOK, s.recentOKText = parseRecent(s.recentOKText), ""
	}
	return s.RecentOK
}

// atoi reads a decimal number of at most 18 digits, as troc writes them.
func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// formatRecent writes a summary column.
func formatRecent(list []recentRun) string {
	var b strings.Builder
	b.Grow(len(list) * 32) // an entry is 20 to 40 bytes: one allocation, mostly
	for i, r := range list {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(r.ID, 10))
		b.WriteByte(',')
		b.WriteByte(statusLetters[r.Status])
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(r.Start.UnixMilli(), 10))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(max(r.Duration.Milliseconds(), 0), 10))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(r.Output, 10))
	}
	return b.String()
}

// withRecent returns list with r in its place by start (replacing the
// entry of the same run, which a late real end does), or without it when
// drop, keeping the newest keep.
func withRecent(list []recentRun, r recentRun, drop bool, keep int) []recentRun {
	list = slices.DeleteFunc(list, func(x recentRun) bool { return x.ID == r.ID })
	if !drop {
		i, _ := slices.BinarySearchFunc(list, r, startOrder)
		list = slices.Insert(list, i, r)
	}
	if len(list) > keep {
		list = list[len(list)-keep:]
	}
	return list
}

// durations are the runs' durations, in their order.
func durations(list []recentRun) []time.Duration {
	out := make([]time.Duration, len(list))
	for i, r := range list {
		out[i] = r.Duration
	}
	return out
}

// medianDuration is the median of ds (the lower middle, as median).
func medianDuration(ds []time.Duration) time.Duration {
	v := make([]int64, len(ds))
	for i, d := range ds {
		v[i] = int64(d)
	}
	return time.Duration(median(v))
}
