package main

// A job's recent runs, as its row keeps them (schema/0006_run_insights.sql):
// the latest finished runs, for the strip of job list and ui (strip.go)
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
	for s, l := range statusLetters {
		if l == b {
			return s
		}
	}
	return StatusTerminated
}

// parseRecent reads a summary column, oldest run first. What it cannot
// read it passes over: the column is troc's, and only a summary, never
// the runs themselves.
func parseRecent(s string) []recentRun {
	var out []recentRun
	for _, e := range strings.Fields(s) {
		f := strings.Split(e, ",")
		if len(f) != 5 || len(f[1]) != 1 {
			continue
		}
		id, err1 := strconv.ParseInt(f[0], 10, 64)
		start, err2 := strconv.ParseInt(f[2], 10, 64)
		dur, err3 := strconv.ParseInt(f[3], 10, 64)
		output, err4 := strconv.ParseInt(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		out = append(out, recentRun{ID: id, Status: letterStatus(f[1][0]), Start: time.UnixMilli(start).UTC(),
			Duration: time.Duration(dur) * time.Millisecond, Output: output})
	}
	slices.SortFunc(out, func(a, b recentRun) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// formatRecent writes a summary column.
func formatRecent(list []recentRun) string {
	var b strings.Builder
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

// withRecent returns list with r in its place by id (replacing the entry
// of the same run, which a late real end does), or without it when drop,
// keeping the newest keep.
func withRecent(list []recentRun, r recentRun, drop bool, keep int) []recentRun {
	list = slices.DeleteFunc(list, func(x recentRun) bool { return x.ID == r.ID })
	if !drop {
		i, _ := slices.BinarySearchFunc(list, r.ID, func(x recentRun, id int64) int { return cmp.Compare(x.ID, id) })
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
