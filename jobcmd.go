package main

// troc job: add, update, list, show and rm jobs.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// tallyDays is how far back troc job list counts runs and failures.
const tallyDays = 30

// settingFlags are the flags of the settings job add and job update share.
type settingFlags struct {
	description, timeout, notifyOn string
	schedule, grace, maxRuntime    string
	minRuntime                     string
	notify, notifyLog              bool
	expectOutput                   bool
	control                        controlFlags
}

func (s *settingFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&s.description, "description", "", "what the job does, for people")
	fs.StringVar(&s.timeout, "timeout", "", "end runs after `DURATION` (90s, 1h30m, 2d) unless exec's --timeout says otherwise; 0 for none")
	fs.BoolVar(&s.notify, "notify", false, "notify after every run, as if exec had --notify")
	fs.BoolVar(&s.notifyLog, "notify-log", false, "include the tail of the log in notifications")
	fs.StringVar(&s.notifyOn, "notify-on", "", "`STATUSES` that notify, comma-separated ("+statusList(notifyStatuses)+"); default: the config's notify.on; none: never")
	fs.StringVar(&s.schedule, "schedule", "", "the job's cron `SCHEDULE` (\"*/5 * * * *\", @daily, @every 15m, CRON_TZ=Zone ...), for troc check; \"\" removes it")
	fs.StringVar(&s.grace, "grace", "", "how late a scheduled run may start before the job is late (`DURATION`; default "+formatDuration(defaultGrace)+")")
	fs.StringVar(&s.maxRuntime, "max-runtime", "", "a run going longer than `DURATION` makes the job stuck, and a successful run that took longer suspect; 0: no limit (a run over 4 times its median is suspect)")
	fs.StringVar(&s.minRuntime, "min-runtime", "", "a successful run shorter than `DURATION` makes the job suspect; 0: under a quarter of its median is")
	fs.BoolVar(&s.expectOutput, "expect-output", false, "a successful run that wrote nothing makes the job suspect")
	s.control.define(fs, true)
}

// change turns the flags that were given on the command line into a
// jobChange.
func (s *settingFlags) change(fs *flag.FlagSet) (jobChange, error) {
	var c jobChange
	var err error
	fs.Visit(func(f *flag.Flag) {
		if apply := settingChanges[f.Name]; apply != nil && err == nil {
			err = apply(s, &c)
		}
	})
	if err == nil {
		c.Control, err = s.control.change(fs)
	}
	return c, err
}

// settingChanges turns each flag of settingFlags, when it was given, into
// its part of a jobChange.
var settingChanges = map[string]func(s *settingFlags, c *jobChange) error{
	"description": func(s *settingFlags, c *jobChange) error { c.Description = &s.description; return nil },
	"notify":      func(s *settingFlags, c *jobChange) error { c.Notify = &s.notify; return nil },
	"notify-log":  func(s *settingFlags, c *jobChange) error { c.NotifyLog = &s.notifyLog; return nil },
	"timeout": func(s *settingFlags, c *jobChange) (err error) {
		c.Timeout, err = flagDuration("timeout", s.timeout)
		return
	},
	"grace": func(s *settingFlags, c *jobChange) (err error) { c.Grace, err = flagDuration("grace", s.grace); return },
	"max-runtime": func(s *settingFlags, c *jobChange) (err error) {
		c.MaxRuntime, err = flagDuration("max-runtime", s.maxRuntime)
		return
	},
	"min-runtime": func(s *settingFlags, c *jobChange) (err error) {
		c.MinRuntime, err = flagDuration("min-runtime", s.minRuntime)
		return
	},
	"expect-output": func(s *settingFlags, c *jobChange) error { c.ExpectOutput = &s.expectOutput; return nil },
	"schedule": func(s *settingFlags, c *jobChange) error {
		if s.schedule != "" {
			sched, err := ParseSchedule(s.schedule)
			if err != nil {
				return usagef("--schedule: %v", err)
			}
			s.schedule = sched.String()
		}
		c.Schedule = &s.schedule
		return nil
	},
	"notify-on": func(s *settingFlags, c *jobChange) (err error) {
		var list []Status
		switch strings.ToLower(strings.TrimSpace(s.notifyOn)) {
		case "default":
		case "none":
			list = []Status{}
		case "":
			return usagef("--notify-on is empty: give statuses, default or none")
		default:
			list, err = parseStatusFlag("--notify-on", s.notifyOn, notifyStatuses)
		}
		c.NotifyOn = &list
		return err
	},
}

// flagDuration parses the value of flag --name as a duration.
func flagDuration(name, text string) (*time.Duration, error) {
	d, err := parseDuration(text)
	if err != nil {
		return nil, usagef("--%s: %v", name, err)
	}
	return &d, nil
}

// settingsFlags defines the settings flags on fs and returns the function
// that parses args, checks the job name, and returns the settings given.
func settingsFlags(fs *flag.FlagSet, name *string) func(a *app, args []string) (jobChange, error) {
	var sf settingFlags
	sf.define(fs)
	return func(a *app, args []string) (jobChange, error) {
		if err := a.noPositional(fs, args); err != nil {
			return jobChange{}, err
		}
		if err := checkJobName(*name); err != nil {
			return jobChange{}, err
		}
		return sf.change(fs)
	}
}

// jobAddCmd is troc job add.
func jobAddCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`: letters, digits, '.', '_', '-'; at most 64")
	settings := settingsFlags(fs, name)
	return func(a *app, ctx context.Context, args []string) error {
		c, err := settings(a, args)
		if err != nil {
			return err
		}
		h, err := a.openHistory(ctx)
		if err != nil {
			return err
		}
		c.Now = h.now()
		if err := h.db.addJob(ctx, *name, c, h.now()); err != nil {
			if errors.Is(err, errJobExists) {
				return withHint(fmt.Errorf("job %q already exists", *name), "troc job update --name "+*name+" changes its settings")
			}
			return fmt.Errorf("add job: %w", err)
		}
		fmt.Fprintf(a.stdout, "job %s added\n", *name)
		return nil
	}
}

// jobUpdateCmd is troc job update.
func jobUpdateCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`")
	rename := fs.String("rename", "", "the job's new `NAME`; its history, settings and any run in progress follow it")
	fs.StringVar(rename, "new-name", "", "same as --rename (the original troc's spelling)")
	settings := settingsFlags(fs, name)
	return func(a *app, ctx context.Context, args []string) error {
		c, err := settings(a, args)
		if err != nil {
			return err
		}
		if *rename != "" {
			if err := checkJobName(*rename); err != nil {
				return usagef("--rename: %v", err)
			}
			c.Rename = rename
		}
		if c == (jobChange{}) {
			return withUsageHint(fs, usagef("nothing to change: give a setting to update"))
		}
		h, err := a.openHistory(ctx)
		if err != nil {
			return err
		}
		c.Now = h.now()
		switch err := h.db.updateJob(ctx, *name, c); {
		case errors.Is(err, errJobNotFound):
			return withHint(fmt.Errorf("no job named %q", *name), "troc job add --name "+*name+" creates it")
		case errors.Is(err, errJobExists):
			return fmt.Errorf("cannot rename %s to %s: a job of that name exists", *name, *rename)
		case err != nil:
			return fmt.Errorf("update job: %w", err)
		}
		if c.Rename != nil {
			// A run of the job that is still going holds its lock under the
			// old name: move the lock to the new one, so that run keeps the
			// renamed job from starting twice.
			err := errors.New("no lock directory can be used")
			if dir, _ := h.cfg.lockDir(); dir != "" {
				err = renameLock(dir, *name, *rename)
			}
			if err != nil {
				h.log.Warn(fmt.Sprintf("Cannot move the lock file of %s to %s: %v; a run still going under the old name will not block the new one", *name, *rename, err))
			}
			fmt.Fprintf(a.stdout, "job %s renamed to %s\n", *name, *rename)
			*name = *rename
		}
		fmt.Fprintf(a.stdout, "job %s updated\n", *name)
		return nil
	}
}

// jobSettingsJSON is a job's settings as troc prints them.
type jobSettingsJSON struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	TimeoutMS    *int64   `json:"timeout_ms"`
	Notify       bool     `json:"notify"`
	NotifyLog    bool     `json:"notify_log"`
	NotifyOn     []Status `json:"notify_on"` // null: the config's notify.on
	Schedule     *string  `json:"schedule"`
	GraceMS      *int64   `json:"grace_ms"`       // null: the default
	MaxRuntimeMS *int64   `json:"max_runtime_ms"` // null: no limit
	MinRuntimeMS *int64   `json:"min_runtime_ms"` // null: the job's median decides
	ExpectOutput bool     `json:"expect_output"`
	controlJSON
}

// controlJSON is a job's job control settings as troc prints them: each
// null (false) when the job leaves it to troc's default.
type controlJSON struct {
	Lock           *string `json:"lock"`
	LockWaitMS     *int64  `json:"lock_wait_ms"`
	SkipExit       *int    `json:"skip_exit"` // null: 75
	JitterMS       *int64  `json:"jitter_ms"`
	Retry          *int    `json:"retry"`
	RetryDelayMS   *int64  `json:"retry_delay_ms"` // null: the default
	SkipWhenPaused bool    `json:"skip_when_paused"`
	Paused         bool    `json:"paused"`
	PausedTime     *string `json:"paused_time"`
	PauseUntil     *string `json:"pause_until_time"` // null: until troc job resume
	PauseReason    *string `json:"pause_reason"`
	EnvFile        *string `json:"env_file"`
	Cwd            *string `json:"cwd"`
	Nice           *int    `json:"nice"`
	IONice         *string `json:"ionice"` // CLASS:LEVEL, or idle
	Umask          *string `json:"umask"`  // octal, "0027"
}

func settingsJSON(j Job, now time.Time, loc *time.Location) jobSettingsJSON {
	ms := positiveMS
	v := jobSettingsJSON{
		Name: j.Name, Description: j.Description, Notify: j.Notify, NotifyLog: j.NotifyLog, NotifyOn: j.NotifyOn,
		TimeoutMS: ms(j.Timeout), Schedule: nonEmpty(j.Schedule), GraceMS: ms(j.Grace), MaxRuntimeMS: ms(j.MaxRuntime),
		MinRuntimeMS: ms(j.MinRuntime), ExpectOutput: j.ExpectOutput,
		controlJSON: controlJSON{
			Lock: nonEmpty(j.LockName), LockWaitMS: ms(j.LockWait), SkipExit: j.SkipExit, JitterMS: ms(j.Jitter),
			RetryDelayMS: ms(j.RetryDelay), SkipWhenPaused: j.SkipWhenPaused,
			EnvFile: nonEmpty(j.Env.EnvFile), Cwd: nonEmpty(j.Env.Cwd), Nice: j.Env.Nice,
		},
	}
	if j.Env.IONice != nil {
		v.IONice = nonEmpty(j.Env.IONice.String())
	}
	if j.Env.Umask != nil {
		v.Umask = nonEmpty(fmt.Sprintf("%04o", *j.Env.Umask))
	}
	if j.Retries > 0 {
		v.Retry = &j.Retries
	}
	if j.pausedAt(now) {
		v.Paused, v.PauseReason = true, nonEmpty(j.PauseReason)
		v.PausedTime, v.PauseUntil = timeJSON(j.Paused, loc), timeJSON(j.PauseUntil, loc)
	}
	return v
}

// jobJSON is a job with its figures, as troc job list and show print it.
type jobJSON struct {
	Host string `json:"host,omitempty"` // the host as named to troc --host; local answers have none
	jobSettingsJSON
	CreatedTime  string       `json:"created_time"`
	LastRun      *runJSON     `json:"last_run"`
	LastSuccess  *string      `json:"last_success_time"`
	Runs30d      int64        `json:"runs_30d"`
	Failures30d  int64        `json:"failures_30d"`
	Health       Health       `json:"health"`
	HealthReason *string      `json:"health_reason"`
	NextRunTime  *string      `json:"next_run_time"` // null without a schedule
	RecentRuns   []recentJSON `json:"recent_runs"`   // its latest finished runs, oldest first (strip.go)
}

func stateJSON(s *jobState, rep healthReport, now time.Time, loc *time.Location) jobJSON {
	v := jobJSON{
		jobSettingsJSON: settingsJSON(s.Job, now, loc),
		CreatedTime:     s.Created.In(loc).Format(timeLayout),
		Runs30d:         s.Runs,
		Failures30d:     s.Failures,
		Health:          rep.Health,
		HealthReason:    nonEmpty(rep.Reason),
		RecentRuns:      recentView(s.recentRuns()),
	}
	if s.LastRun != nil {
		r := s.LastRun.jsonView(loc)
		v.LastRun = &r
	}
	v.LastSuccess, v.NextRunTime = timeJSON(s.LastSuccess, loc), timeJSON(rep.Next, loc)
	return v
}

// stateFromView is the inverse of stateJSON: the job that another troc
// printed (troc --host), with the health that troc found.
func stateFromView(v jobJSON) (*jobState, healthReport, error) {
	s := &jobState{
		Job: Job{
			Name: v.Name, Description: v.Description, Notify: v.Notify, NotifyLog: v.NotifyLog, NotifyOn: v.NotifyOn,
			Timeout: msDuration(v.TimeoutMS), Schedule: deref(v.Schedule), Grace: msDuration(v.GraceMS), MaxRuntime: msDuration(v.MaxRuntimeMS),
			MinRuntime: msDuration(v.MinRuntimeMS), ExpectOutput: v.ExpectOutput,
			jobControl: jobControl{
				LockName: deref(v.Lock), LockWait: msDuration(v.LockWaitMS), SkipExit: v.SkipExit, Jitter: msDuration(v.JitterMS),
				Retries: deref(v.Retry), RetryDelay: msDuration(v.RetryDelayMS), SkipWhenPaused: v.SkipWhenPaused,
				Env: envFromView(v.controlJSON),
			},
			PauseReason: deref(v.PauseReason),
		},
		Runs:     v.Runs30d,
		Failures: v.Failures30d,
		Recent:   recentFromView(v.RecentRuns),
	}
	rep := healthReport{Health: v.Health, Reason: deref(v.HealthReason)}
	var err error
	if v.LastRun != nil {
		if s.LastRun, err = runFromView(*v.LastRun); err != nil {
			return nil, rep, fmt.Errorf("job %s: last_run: %w", v.Name, err)
		}
	}
	created := v.CreatedTime
	for _, t := range []struct {
		dst  *time.Time
		text *string
	}{{&s.Created, &created}, {&s.LastSuccess, v.LastSuccess}, {&rep.Next, v.NextRunTime},
		{&s.Paused, v.PausedTime}, {&s.PauseUntil, v.PauseUntil}} {
		if *t.dst, err = parseTimeJSON(t.text); err != nil {
			return nil, rep, fmt.Errorf("job %s: %w", v.Name, err)
		}
	}
	return s, rep, nil
}

// states returns the named job's state (every job's for ""), with the
// tallies of the last tallyDays days.
func (h *history) states(ctx context.Context, name string) ([]*jobState, error) {
	since := h.now().AddDate(0, 0, -(tallyDays - 1))
	list, err := h.db.jobStates(ctx, name, since)
	if err != nil {
		return nil, fmt.Errorf("read jobs: %w", err)
	}
	return list, nil
}

// jobListCmd is troc job list.
func jobListCmd(fs *flag.FlagSet) runFunc {
	format := outputFlags(fs, "jobs")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		out, err := format()
		if err != nil {
			return err
		}
		h, err := a.openHistory(ctx)
		if err != nil {
			return err
		}
		list, err := h.states(ctx, "")
		if err != nil {
			return err
		}
		now := h.now()
		if out == formatJSON {
			views := make([]jobJSON, len(list))
			for i, s := range list {
				views[i] = stateJSON(s, s.health(now), now, h.loc)
			}
			return writeJSONList(a.stdout, views)
		}
		reports := make([]healthReport, len(list))
		for i, s := range list {
			reports[i] = s.health(now)
		}
		return writeJobTable(a.stdout, h.newDisplay(a.stdout).forFormat(out), list, reports, nil)
	}
}

// writeJobTable writes troc job list's table: each job with its health in
// reports; hosts, when not nil, names the host of each (troc --host).
func writeJobTable(w io.Writer, d display, list []*jobState, reports []healthReport, hosts []string) error {
	rows := make([][]cell, len(list))
	for i, s := range list {
		rep := reports[i]
		last := []cell{{text: "-"}, {text: "-"}}
		if s.LastRun != nil {
			last = []cell{d.status(s.LastRun.Status), {text: d.time(s.LastRun.Start)}}
		}
		rows[i] = append(append([]cell{{text: s.Name}, d.health(rep.Health)}, last...),
			cell{text: d.time(s.LastSuccess)},
			cell{text: d.time(rep.Next)},
			cell{text: strconv.FormatInt(s.Runs, 10)},
			cell{text: strconv.FormatInt(s.Failures, 10)},
			d.strip(s.recentRuns()))
	}
	header, rows := withHosts([]string{"JOB", "HEALTH", "LAST RUN", "STARTED", "LAST SUCCESS", "NEXT", "RUNS 30D", "FAILED 30D", "RECENT"}, rows, hosts)
	header, rows = fitStrips(header, rows, len(header)-1, d.width)
	return d.writeTable(w, header, rows)
}

// jobShowJSON is troc job show's output.
type jobShowJSON struct {
	jobJSON
	Runs      []runJSON       `json:"runs"`      // the latest, newest first
	Resources *usageStatsJSON `json:"resources"` // null: no run recorded any
}

// jobShowRuns is how many of its latest runs troc job show lists, and
// jobShowHistory how many it reads for its medians.
const (
	jobShowRuns    = 10
	jobShowHistory = 20
)

// jobShowCmd is troc job show.
func jobShowCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		h, err := a.openHistoryFor(ctx, *name, true)
		if err != nil {
			return err
		}
		list, err := h.states(ctx, *name)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return noJob(*name)
		}
		s := list[0]
		rep := s.health(h.now())
		history, err := h.db.listRuns(ctx, runFilter{JobID: s.ID, Limit: jobShowHistory})
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		runs := history[:min(len(history), jobShowRuns)]
		if *asJSON {
			v := jobShowJSON{jobJSON: stateJSON(s, rep, h.now(), h.loc), Runs: make([]runJSON, len(runs)), Resources: usageStats(history)}
			for i, r := range runs {
				v.Runs[i] = r.jsonView(h.loc)
			}
			return writeJSON(a.stdout, v)
		}
		return writeJobShow(a.stdout, h.newDisplay(a.stdout), h.now(), s, rep, runs, usageStats(history))
	}
}

// writeJobShow writes troc job show's text: the job s, its health rep,
// its latest runs, and what they used (nil: nothing known).
func writeJobShow(out io.Writer, d display, now time.Time, s *jobState, rep healthReport, runs []*Run, usage *usageStatsJSON) error {
	w := bufio.NewWriter(out)
	line := func(key, value string) { fmt.Fprintf(w, "%-14s %s\n", key+":", termText(value)) }
	line("job", s.Name)
	if s.Description != "" {
		line("description", s.Description)
	}
	line("created", d.time(s.Created))
	timeout := "none"
	if s.Timeout > 0 {
		timeout = formatDuration(s.Timeout)
	}
	line("timeout", timeout)
	notifyOn := "the config's notify.on"
	if s.NotifyOn != nil {
		notifyOn = statusList(s.NotifyOn)
	}
	line("notify", fmt.Sprintf("%t (on %s; log tail %t)", s.Notify, notifyOn, s.NotifyLog))
	if s.Schedule != "" {
		grace := "default, " + formatDuration(defaultGrace)
		if s.Grace > 0 {
			grace = formatDuration(s.Grace)
		}
		line("schedule", fmt.Sprintf("%s (grace %s)", s.Schedule, grace))
		line("next run", d.time(rep.Next))
	}
	if s.MaxRuntime > 0 {
		line("max runtime", formatDuration(s.MaxRuntime))
	}
	if s.MinRuntime > 0 {
		line("min runtime", formatDuration(s.MinRuntime))
	}
	if s.ExpectOutput {
		line("expect output", "true")
	}
	for _, l := range controlLines(s.jobControl) {
		line(l[0], l[1])
	}
	if s.pausedAt(now) {
		line("paused", pauseLine(&s.Job, d))
	}
	health := string(rep.Health)
	if rep.Reason != "" {
		health += ": " + rep.Reason
	}
	line("health", health)
	line("last success", d.time(s.LastSuccess))
	line("last 30 days", fmt.Sprintf("%d runs, %d failed", s.Runs, s.Failures))
	if recent := s.recentRuns(); len(recent) > 0 {
		fmt.Fprintf(w, "%-14s ", "last runs:")
		writeCell(w, d.strip(recent))
		fmt.Fprintln(w)
		if spark := sparkline(recent); spark != "" {
			line("durations", spark)
		}
	}
	if u := usage; u != nil {
		line("resources", "last run: "+u.Last.usage().String())
		fmt.Fprintf(w, "%-14s median of %d: %s\n", "", u.MedianOf, u.Median.usage())
	}
	fmt.Fprintln(w)
	rows := make([][]cell, len(runs))
	for i, r := range runs {
		rows[i] = []cell{
			{text: strconv.FormatInt(r.ID, 10)},
			d.status(r.Status),
			{text: d.time(r.Start)},
			{text: runDuration(r, now)},
			{text: runExit(r)},
		}
	}
	writeTable(w, []string{"ID", "STATUS", "START", "DURATION", "EXIT"}, rows)
	return w.Flush()
}

// jobRmCmd is troc job rm.
func jobRmCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`")
	keepLogs := fs.Bool("keep-logs", false, "leave the runs' log files on disk")
	force := fs.Bool("force", false, "do not ask for confirmation on a terminal")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		h, err := a.openHistoryFor(ctx, *name, true)
		if err != nil {
			return err
		}
		if _, err := h.findJob(ctx, *name); err != nil {
			return err
		}
		what := "its runs and their log files"
		if *keepLogs {
			what = "its runs (keeping their log files)"
		}
		if !*force && !a.confirm(fmt.Sprintf("Delete job %s, %s?", *name, what)) {
			return errors.New("not confirmed; nothing deleted")
		}
		runs, err := h.db.deleteJob(ctx, *name)
		var busy *jobBusyError
		if errors.As(err, &busy) {
			return withHint(fmt.Errorf("job %s has a run in progress (run %d): nothing deleted", *name, busy.run),
				fmt.Sprintf("wait for it to end, or stop it: troc run kill -r %d", busy.run))
		}
		if err != nil {
			return fmt.Errorf("delete job: %w", err)
		}
		msg := fmt.Sprintf("job %s deleted with %d runs", *name, len(runs))
		if !*keepLogs {
			files, bytes := removeRunFiles(runs, h.log)
			msg += fmt.Sprintf("; %d files, %s freed", files, formatBytes(bytes))
		}
		fmt.Fprintln(a.stdout, msg)
		return nil
	}
}
