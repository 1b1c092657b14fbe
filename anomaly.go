package main

// Anomalies: what a job's own history says is wrong with a run that
// succeeded. A job is suspect (health.go's order: after failing, before
// new and ok) when, from its row alone (recent.go):
//
//   - its last successful run was much shorter or much longer than its
//     recent successful runs: under a quarter, or over four times, the
//     median of the 20 before it, once there are at least 5 of them
//     (a mysqldump | gpg that dumps nothing ends in seconds). The job's
//     --min-runtime and --max-runtime replace the quarter and the four
//     times, and apply from its first run. A median under a second says
//     nothing (such a job's duration is the machine's noise), so the
//     median's bounds apply only from one second;
//   - it has --expect-output and its last successful run wrote nothing;
//   - it has a schedule and started more often than the schedule allows:
//     of its last 4 starts (skipped runs too: cron started them), at
//     least 2 came before the schedule's next time after the start
//     before them. A second crontab line for the same job, a typo that
//     runs it every minute of an hour, a cron daemon started twice. One
//     run by hand between two scheduled ones is one early start, and does
//     not make the job suspect; a second within 4 starts does.
//
// A failed run makes the job failing, which says more; only the last
// successful run is judged, so a suspect job is ok again after its next
// normal run. suspicion is separate from health so that other reasons
// (retried runs judged by their final outcome, say) slot in beside these.

import (
	"fmt"
	"time"
)

// HealthSuspect is a job whose latest run succeeded but looks wrong.
const HealthSuspect Health = "suspect"

// The kinds of anomaly, as troc_job_suspect's reason label names them.
const (
	suspectShort    = "short"     // the last successful run was too short
	suspectLong     = "long"      // or too long
	suspectNoOutput = "no_output" // it wrote nothing, and the job expects output
	suspectTooOften = "too_often" // the job started more often than its schedule allows
)

// suspectKinds lists them, for the metrics.
var suspectKinds = []string{suspectShort, suspectLong, suspectNoOutput, suspectTooOften}

// The defaults of the duration anomaly.
const (
	anomalyFactor  = 4           // under 1/4 or over 4 times the median
	anomalyMinRuns = 5           // successful runs before the last, for a median
	anomalyFloor   = time.Second // a median shorter says nothing
)

// suspicion says what kind of anomaly makes the job suspect and why, or
// "", "" when nothing in its recent runs is out of the ordinary. sched is
// its schedule, nil for none; since is when that schedule was set.
func (s *jobState) suspicion(sched *Schedule, since time.Time) (kind, why string) {
	if ok := s.recentOKRuns(); s.LastEnd == StatusSucceeded && len(ok) > 0 {
		last, before := ok[len(ok)-1], ok[:len(ok)-1]
		if kind, why := durationAnomaly(last, before, s.MinRuntime, s.MaxRuntime); why != "" {
			return kind, why
		}
		if s.ExpectOutput && last.Output == 0 {
			return suspectNoOutput, fmt.Sprintf("run %d wrote no output, and the job expects some", last.ID)
		}
	}
	if sched != nil {
		if why := tooOften(s.recentRuns(), sched, since); why != "" {
			return suspectTooOften, why
		}
	}
	return "", ""
}

// durationAnomaly says whether run last took too short or too long a
// time against the runs before it, and why; "", "" when neither.
func durationAnomaly(last recentRun, before []recentRun, minRuntime, maxRuntime time.Duration) (kind, why string) {
	d := last.Duration
	switch {
	case minRuntime > 0 && d < minRuntime:
		return suspectShort, fmt.Sprintf("run %d ran %s, under its min runtime of %s", last.ID, formatDuration(d), formatDuration(minRuntime))
	case maxRuntime > 0 && d > maxRuntime:
		return suspectLong, fmt.Sprintf("run %d ran %s, over its max runtime of %s", last.ID, formatDuration(d), formatDuration(maxRuntime))
	case len(before) < anomalyMinRuns:
		return "", ""
	}
	med := medianDuration(durations(before))
	if med < anomalyFloor {
		return "", ""
	}
	switch {
	case minRuntime == 0 && d < med/anomalyFactor:
		kind = suspectShort
	case maxRuntime == 0 && d > med*anomalyFactor:
		kind = suspectLong
	default:
		return "", ""
	}
	return kind, fmt.Sprintf("run %d ran %s; its median is %s", last.ID, formatDuration(d), formatDuration(med))
}

// The "too often" anomaly: at least oftenEarly of the last oftenStarts
// starts were early.
const (
	oftenStarts = 4
	oftenEarly  = 2
)

// tooOften says why the recent runs started more often than sched
// allows, or "". Runs before since (when the schedule was set) are not
// judged by it.
func tooOften(recent []recentRun, sched *Schedule, since time.Time) string {
	early, latest := 0, recentRun{}
	for i := max(len(recent)-oftenStarts, 1); i < len(recent); i++ {
		prev, r := recent[i-1], recent[i]
		if prev.Start.Before(since) {
			continue
		}
		var next time.Time
		if sched.every > 0 {
			next = sched.Next(prev.Start)
		} else {
			// The fire time the earlier run was for, and the one after it.
			next = sched.Next(sched.Prev(prev.Start.Add(earlyStart)))
		}
		if !next.IsZero() && r.Start.Before(next.Add(-earlyStart)) {
			early++
			latest = r
		}
	}
	if early < oftenEarly {
		return ""
	}
	return fmt.Sprintf("started more often than its schedule allows: %d of its last %d starts came early (the latest, run %d, at %s)",
		early, oftenStarts, latest.ID, latest.Start.Format(time.RFC3339))
}
