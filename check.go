package main

// Job health without a daemon. A job with a schedule promises to run at
// its fire times; troc check compares that promise with the history:
//
//   - stuck: a run has been going longer than the job's max runtime;
//   - late: no run started within the grace period after a fire time;
//   - failing: its latest finished run (skips aside) did not succeed;
//   - suspect: its latest successful run looks wrong against its own
//     history, or it started more often than its schedule allows
//     (anomaly.go);
//   - new: it never ran, and no fire time has passed since it got its
//     schedule;
//   - ok: none of those.
//
// The first that applies wins, in that order: a stuck job is also late,
// and "stuck" says more. A job without a schedule makes no promise of
// when it runs, so it is never late; it can still be stuck, failing, new
// or ok. health is the one definition: troc check, job list, job show,
// ui and the metrics all call it, for every job. A fire time before the schedule was set (or the
// job created) is never due: scheduling a job does not make it late for
// times it was never meant to run.
//
// Everything is read from the jobs table (its summary columns kept current
// as runs are recorded, see schema/0002_job_summary.sql) and one lookup of each job's latest run, so
// a check costs the same with a year of history as with a day's.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Health is a job's state as troc check reports it.
type Health string

const (
	HealthOK      Health = "ok"
	HealthLate    Health = "late"
	HealthFailing Health = "failing"
	HealthStuck   Health = "stuck"
	HealthNew     Health = "new"
	HealthPaused  Health = "paused" // troc job pause: never alerts, whatever else it would be
)

// Healths lists every health state, for documentation and metrics.
var Healths = []Health{HealthOK, HealthLate, HealthFailing, HealthStuck, HealthNew, HealthPaused, HealthSuspect}

// healthy reports whether a job in health h needs nobody's attention:
// troc check exits 0 when every job is healthy.
func (h Health) healthy() bool { return h == HealthOK || h == HealthNew || h == HealthPaused }

// defaultGrace is how late a scheduled run may start when the job sets
// no grace of its own: cron starts jobs within seconds, but a busy host
// or a long-running predecessor (a Skipped run still counts as starting)
// may take a little longer.
const defaultGrace = 5 * time.Minute

// earlyStart is how long before its fire time a run may have started and
// still count for it: clocks and cron's minute boundaries are not exact.
const earlyStart = 30 * time.Second

// jobState is what troc check and troc metrics know of a job: its
// settings, its latest run, what it is running, and its counters.
type jobState struct {
	Job
	LastRun      *Run             // its latest run, in any state; nil: never ran
	LastEnd      Status           // state of its latest finished run that was not skipped; "": none
	RunningSince time.Time        // start of its oldest Running run; zero: none running
	Counts       map[Status]int64 // runs by final state since the job was created
	Announced    Health           // what check --notify last said; "": nothing yet
	AnnouncedAt  time.Time
	Runs         int64 // runs started in the tally period (troc job list: 30 days)
	Failures     int64 // of those, Failed, TimedOut and Terminated
	// Its latest finished runs and its latest successful ones, oldest
	// first (recent.go): read from the history's summary columns only
	// when asked for (recentRuns, recentOKRuns), as most jobs of a check
	// need neither.
	Recent, RecentOK         []recentRun
	recentText, recentOKText string
}

// healthReport is a job's health at a moment, and why.
type healthReport struct {
	Health Health
	Reason string    // for people: "no run since 03:00, due at 04:00"
	Due    time.Time // the fire time the job is late for; zero unless late
	Next   time.Time // its next fire time; zero without a schedule
	Kind   string    // the kind of anomaly of a suspect job (suspectShort, ...)
}

// health says how the job is doing at now.
func (s *jobState) health(now time.Time) healthReport {
	var rep healthReport
	var sched *Schedule
	if s.Schedule != "" {
		// Stored schedules were parsed when set; one that no longer
		// parses (a zone removed from the host) is reported, not hidden.
		var err error
		if sched, err = ParseSchedule(s.Schedule); err != nil {
			return healthReport{Health: HealthLate, Reason: err.Error()}
		}
	}
	since := s.scheduleSince()
	var lastStart time.Time
	if s.LastRun != nil {
		lastStart = s.LastRun.Start
	}
	if sched != nil {
		from := now
		if sched.every > 0 && !lastStart.IsZero() {
			from = lastStart // @every counts from the last run
		}
		rep.Next = sched.Next(from)
	}

	if s.pausedAt(now) {
		rep.Health, rep.Reason = HealthPaused, s.pauseReason()
		return rep
	}
	if !s.RunningSince.IsZero() && s.MaxRuntime > 0 && now.Sub(s.RunningSince) > s.MaxRuntime {
		rep.Health = HealthStuck
		rep.Reason = "running since " + s.RunningSince.Format(time.RFC3339) + ", longer than its max runtime " + formatDuration(s.MaxRuntime)
		return rep
	}
	if sched != nil {
		grace := s.Grace
		if grace == 0 {
			grace = defaultGrace
		}
		// The latest fire time whose grace has passed: a run should have
		// started between it and now.
		due := sched.Prev(now.Add(-grace))
		if !due.IsZero() && !due.Before(since) && lastStart.Before(due.Add(-earlyStart)) {
			rep.Health, rep.Due = HealthLate, due
			if lastStart.IsZero() {
				rep.Reason = "never ran; due at " + due.Format(time.RFC3339)
			} else {
				rep.Reason = "no run since " + lastStart.Format(time.RFC3339) + "; due at " + due.Format(time.RFC3339)
			}
			return rep
		}
	}
	switch {
	case isFailure(s.LastEnd):
		rep.Health, rep.Reason = HealthFailing, "its last run "+string(s.LastEnd)
	case s.LastRun == nil:
		rep.Health, rep.Reason = HealthNew, "never ran, not due yet"
	default:
		rep.Health = HealthOK
		if kind, why := s.suspicion(sched, since); why != "" {
			rep.Health, rep.Reason, rep.Kind = HealthSuspect, why, kind
		}
	}
	return rep
}

// scheduleSince is when the job's schedule began to apply: when it was
// set, or when the job was created if later.
func (s *jobState) scheduleSince() time.Time {
	if s.ScheduleSet.Before(s.Created) {
		return s.Created
	}
	return s.ScheduleSet
}

// checkJSON is one job in troc check --json.
type checkJSON struct {
	Host        string   `json:"host,omitempty"` // the host as named to troc --host; local answers have none
	Job         string   `json:"job"`
	Health      Health   `json:"health"`
	Reason      *string  `json:"reason"`
	Schedule    string   `json:"schedule"`
	LastRun     *runJSON `json:"last_run"`
	DueTime     *string  `json:"due_time"`      // the fire time it is late for
	NextRunTime *string  `json:"next_run_time"` // its next fire time
}

// checkFromView is the inverse of a checkJSON: the job and health that
// another troc printed (troc --host).
func checkFromView(v checkJSON) (*jobState, healthReport, error) {
	s := &jobState{Job: Job{Name: v.Job, Schedule: v.Schedule}}
	rep := healthReport{Health: v.Health, Reason: deref(v.Reason)}
	var err error
	if v.LastRun != nil {
		if s.LastRun, err = runFromView(*v.LastRun); err != nil {
			return nil, rep, fmt.Errorf("job %s: last_run: %w", v.Job, err)
		}
	}
	if rep.Due, err = parseTimeJSON(v.DueTime); err == nil {
		rep.Next, err = parseTimeJSON(v.NextRunTime)
	}
	if err != nil {
		return nil, rep, fmt.Errorf("job %s: %w", v.Job, err)
	}
	return s, rep, nil
}

// checkCmd is troc check.
func checkCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print a JSON array, one object per job")
	notify := fs.Bool("notify", false, "send an alert when a job becomes late, failing or stuck, and when it recovers")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		// check --notify runs from cron, which mails whatever reaches stderr:
		// the alerts it sends are news for the system log, not for stderr.
		h, err := a.openHistoryLog(ctx, *notify)
		if err != nil {
			return err
		}
		now := h.now()
		all, err := h.db.jobStates(ctx, "", time.Time{}) // no tallies: check does not show them
		if err != nil {
			return fmt.Errorf("read jobs: %w", err)
		}
		states := all
		reports := make([]healthReport, len(states))
		healthy := true
		for i, s := range states {
			reports[i] = s.health(now)
			healthy = healthy && reports[i].Health.healthy()
		}
		if *notify {
			h.announce(ctx, states, reports)
		}
		h.writeMetricsFile(ctx, all)

		if *asJSON {
			views := make([]checkJSON, len(states))
			for i, s := range states {
				rep := reports[i]
				v := checkJSON{Job: s.Name, Health: rep.Health, Reason: nonEmpty(rep.Reason), Schedule: s.Schedule}
				if s.LastRun != nil {
					r := s.LastRun.jsonView(h.loc)
					v.LastRun = &r
				}
				v.DueTime, v.NextRunTime = timeJSON(rep.Due, h.loc), timeJSON(rep.Next, h.loc)
				views[i] = v
			}
			if err := writeJSONList(a.stdout, views); err != nil {
				return err
			}
		} else {
			if err := writeCheckTable(a.stdout, h.newDisplay(a.stdout), states, reports, nil); err != nil {
				return err
			}
		}
		if !healthy {
			return exitStatus(exitError)
		}
		return nil
	}
}

// writeCheckTable writes troc check's table: each job with its health in
// reports; hosts, when not nil, names the host of each (troc --host).
func writeCheckTable(w io.Writer, d display, states []*jobState, reports []healthReport, hosts []string) error {
	rows := make([][]cell, len(states))
	for i, s := range states {
		rep := reports[i]
		last := "-"
		if s.LastRun != nil {
			last = d.time(s.LastRun.Start)
		}
		rows[i] = []cell{{text: s.Name}, d.health(rep.Health), {text: cmp.Or(s.Schedule, "-")}, {text: last}, {text: d.time(rep.Next)}, {text: rep.Reason}}
	}
	header, rows := withHosts([]string{"JOB", "HEALTH", "SCHEDULE", "LAST RUN", "NEXT", "WHY"}, rows, hosts)
	return writeTable(w, header, rows)
}

// announce sends an alert for each job whose health became late, failing
// or stuck since the last announcement, and a recovery for each that came
// back to ok, and records what it announced, so that a check every minute
// says each thing once. A job that is new has nothing to announce. An
// alert no channel could deliver is not recorded: the next check tries
// again.
//
// What was announced must be recorded, or the next check would repeat
// the alert or, worse, never say "ok again". The history may be locked by
// another troc: recordHealth tries a few times within busyTimeout, and
// what it still cannot record is kept in the announced file beside the
// history (see announcedPath), which the next check reads first and
// empties into the history when it can.
func (h *history) announce(ctx context.Context, states []*jobState, reports []healthReport) {
	path := announcedPath(h.cfg)
	pending, err := readAnnounced(path)
	if err != nil {
		h.log.Warn(fmt.Sprintf("Cannot read what earlier checks announced: %v", err))
	}
	for _, s := range states {
		switch p, ok := pending[s.ID]; {
		case !ok:
		case p.At.Before(s.AnnouncedAt):
			delete(pending, s.ID) // a later check recorded a later one
		default:
			s.Announced, s.AnnouncedAt = p.Health, p.At
		}
	}
	historyDown := false // one record failed: do not wait busyTimeout for each job
	record := func(id int64, name string, health Health, at time.Time) {
		if !historyDown {
			err := h.recordHealth(ctx, id, health, at)
			if err == nil {
				delete(pending, id)
				return
			}
			historyDown = true
			h.log.Warn(fmt.Sprintf("Cannot record the health of %s in the history: %v; keeping it in %s", name, err, path))
		}
		pending[id] = announcedJSON{JobID: id, Job: name, Health: health, At: at}
	}

	var n *runNotifier
	for i, s := range states {
		rep := reports[i]
		was := s.Announced
		if was == "" {
			was = HealthOK
		}
		if rep.Health == was || rep.Health == HealthNew || rep.Health == HealthPaused ||
			rep.Health == HealthSuspect && !h.announcesSuspect(s.Job) {
			continue // a paused job never alerts; on resume, what it is then is news
		}
		var msg string
		bad := rep.Health != HealthOK
		if bad {
			msg = string(rep.Health) + ": " + rep.Reason
		} else {
			msg = "ok again (was " + string(was) + ")"
		}
		if n == nil {
			var err error
			if n, err = newRunNotifier(h.cfg, s.Job, h.log); err != nil {
				h.log.Warn("Notifications: " + err.Error())
			}
		}
		if err := n.sendHealth(ctx, s.Name, s.LastRun, msg, bad); err != nil {
			h.log.Warn(fmt.Sprintf("Health of %s not announced: %v", s.Name, err))
			continue
		}
		record(s.ID, s.Name, rep.Health, h.now())
	}
	// What earlier checks could not record, and this one did not
	// announce anew, goes into the history now if it can.
	for _, p := range slices.SortedFunc(maps.Values(pending), func(a, b announcedJSON) int { return cmp.Compare(a.JobID, b.JobID) }) {
		if !historyDown && h.recordHealth(ctx, p.JobID, p.Health, p.At) == nil {
			delete(pending, p.JobID)
		}
	}
	if err := writeAnnounced(path, pending); err != nil {
		h.log.Error(fmt.Sprintf("Cannot keep what was announced, the next check may announce it again: %v", err))
	}
}

// announcesSuspect reports whether the job's notify-on list (or else the
// config's notify.on) has the word suspect: a job that becomes suspect is
// announced only then.
func (h *history) announcesSuspect(job Job) bool {
	on := job.NotifyOn
	if on == nil {
		on = h.cfg.Notify.On
	}
	return slices.Contains(on, StatusSuspect)
}

// recordHealth records in the history the health announced for a job. A
// busy history is waited on as every write waits on it (DB.write): SQLite
// retries the lock for the busy timeout, once per troc.
func (h *history) recordHealth(ctx context.Context, jobID int64, health Health, at time.Time) error {
	return h.db.setHealth(ctx, jobID, health, at)
}

// announcedJSON is one announcement that could not be recorded in the
// history, as the announced file keeps it.
type announcedJSON struct {
	JobID  int64     `json:"job_id"` // the job's id: a rename keeps it
	Job    string    `json:"job"`    // its name then, for people reading the file
	Health Health    `json:"health"`
	At     time.Time `json:"at"`
}

// announcedPath is the announced file: beside the history, named for it
// (troc.db-announced.json), as SQLite names its -wal and -shm files.
func announcedPath(cfg *Config) string { return cfg.Database + "-announced.json" }

// readAnnounced reads the announced file at path, by job id; a missing
// file holds nothing.
func readAnnounced(path string) (map[int64]announcedJSON, error) {
	out := map[int64]announcedJSON{}
	f, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return out, err
	}
	var list []announcedJSON
	if err := json.Unmarshal(data, &list); err != nil {
		return out, fmt.Errorf("%s: %v", path, err)
	}
	for _, a := range list {
		out[a.JobID] = a
	}
	return out, nil
}

// writeAnnounced replaces the announced file at path with pending, or
// removes it when nothing is pending. It is written to a temp file that
// is renamed over it, so that a reader sees the old list or the new one.
func writeAnnounced(path string, pending map[int64]announcedJSON) error {
	if len(pending) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	list := slices.SortedFunc(maps.Values(pending), func(a, b announcedJSON) int { return cmp.Compare(a.JobID, b.JobID) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
