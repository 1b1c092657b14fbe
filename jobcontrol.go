package main

// Job control: how troc exec waits for, shares and spreads its lock, what
// a Skipped run exits with, and how often a failed job is tried again.
// Each is a flag of troc exec and a setting of job add and job update
// (jobControl); the run's flag wins over the job's setting.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// defaultRetryDelay is the wait before a failed job's first retry when
// neither --retry-delay nor the job says.
const defaultRetryDelay = 10 * time.Second

// maxRetries bounds --retry: a job that fails a hundred times in a row
// is not going to succeed on the hundred-and-first.
const maxRetries = 100

// controlFlags are the job control flags as given.
type controlFlags struct {
	lockName, lockWait, skipExit, jitter, retries, retryDelay string
	skipWhenPaused                                            bool
	env                                                       func() (execEnv, error)
}

// define defines the flags on fs; forJob adds the settings that only a
// job has.
func (f *controlFlags) define(fs *flag.FlagSet, forJob bool) {
	fs.StringVar(&f.lockName, "lock", "", "also hold the shared lock `NAME` (a job name's rules), which other jobs may name too: they never run at the same time; \"\": none")
	fs.StringVar(&f.lockWait, "lock-wait", "", "wait up to `DURATION` for the lock before the run is Skipped (as flock -w); 0: skip at once")
	fs.StringVar(&f.skipExit, "skip-exit", "", "troc exec's exit `STATUS` for a Skipped run (0-255; default 75, as flock -E)")
	fs.StringVar(&f.jitter, "jitter", "", "sleep a random time below `DURATION` before taking the lock (as systemd's RandomizedDelaySec)")
	fs.StringVar(&f.retries, "retry", "", "run a Failed or TimedOut job again up to `N` times, under the same lock")
	fs.StringVar(&f.retryDelay, "retry-delay", "", "wait `DURATION` before the first retry, doubling after each, at most 10 times the first (default "+defaultRetryDelay.String()+")")
	if forJob {
		fs.BoolVar(&f.skipWhenPaused, "skip-when-paused", false, "while the job is paused (troc job pause), its runs are Skipped rather than run")
	}
	f.env = envFlags(fs)
}

// change turns the flags given on fs into a controlChange.
func (f *controlFlags) change(fs *flag.FlagSet) (controlChange, error) {
	var c controlChange
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "lock":
			if f.lockName != "" {
				if err = checkName("lock", f.lockName); err != nil {
					return
				}
			}
			c.LockName = &f.lockName
		case "lock-wait":
			c.LockWait, err = flagDuration("lock-wait", f.lockWait)
		case "jitter":
			c.Jitter, err = flagDuration("jitter", f.jitter)
		case "retry-delay":
			c.RetryDelay, err = flagDuration("retry-delay", f.retryDelay)
		case "skip-exit":
			var code *int
			if strings.TrimSpace(f.skipExit) != "default" {
				n, perr := strconv.Atoi(strings.TrimSpace(f.skipExit))
				if perr != nil || n < 0 || n > 255 {
					err = usagef("--skip-exit: %q is not an exit status from 0 to 255 (or default)", f.skipExit)
					return
				}
				code = &n
			}
			c.SkipExit = &code
		case "retry":
			n, perr := strconv.Atoi(strings.TrimSpace(f.retries))
			if perr != nil || n < 0 || n > maxRetries {
				err = usagef("--retry: %q is not a number of retries from 0 to %d", f.retries, maxRetries)
				return
			}
			c.Retries = &n
		case "skip-when-paused":
			c.SkipWhenPaused = &f.skipWhenPaused
		}
	})
	if err != nil {
		return c, err
	}
	env, err := f.env()
	if len(env.given) > 0 {
		c.Env = &env
	}
	return c, err
}

// over is the job's settings j with the changes c made: for troc exec,
// the run's flags over the job's settings.
func (c controlChange) over(j jobControl) jobControl {
	set := func(dst *time.Duration, src *time.Duration) {
		if src != nil {
			*dst = *src
		}
	}
	if c.LockName != nil {
		j.LockName = *c.LockName
	}
	set(&j.LockWait, c.LockWait)
	set(&j.Jitter, c.Jitter)
	set(&j.RetryDelay, c.RetryDelay)
	if c.SkipExit != nil {
		j.SkipExit = *c.SkipExit
	}
	if c.Retries != nil {
		j.Retries = *c.Retries
	}
	if c.SkipWhenPaused != nil {
		j.SkipWhenPaused = *c.SkipWhenPaused
	}
	if c.Env != nil {
		j.Env = c.Env.over(j.Env)
	}
	return j
}

// skipStatus is troc exec's exit status for a Skipped run.
func (j jobControl) skipStatus() int {
	if j.SkipExit != nil {
		return *j.SkipExit
	}
	return exitSkipped
}

// jitterDelay draws the sleep before the lock: uniform in [0, Jitter),
// to the millisecond, as the history keeps it.
func (j jobControl) jitterDelay() time.Duration {
	if j.Jitter < time.Millisecond {
		return 0
	}
	return time.Duration(rand.Int64N(j.Jitter.Milliseconds())) * time.Millisecond
}

// retryDelay is the wait before retry n (1 for the first): the first
// delay, doubled for each retry before it, at most ten times the first.
func (j jobControl) retryDelay(n int) time.Duration {
	first := j.RetryDelay
	if first <= 0 {
		first = defaultRetryDelay
	}
	d := first
	for i := 1; i < n && d < 10*first; i++ {
		d *= 2
	}
	return min(d, 10*first)
}

// controlLines are the job control settings for troc job show, as
// key-value pairs: only those that differ from troc's defaults.
func controlLines(j jobControl) [][2]string {
	var out [][2]string
	add := func(key, value string) { out = append(out, [2]string{key, value}) }
	if j.LockName != "" {
		add("shared lock", j.LockName)
	}
	if j.LockWait > 0 {
		add("lock wait", formatDuration(j.LockWait))
	}
	if j.SkipExit != nil {
		add("skip exit", strconv.Itoa(*j.SkipExit))
	}
	if j.Jitter > 0 {
		add("jitter", formatDuration(j.Jitter))
	}
	if j.Retries > 0 {
		add("retry", fmt.Sprintf("%d times, first after %s", j.Retries, formatDuration(j.retryDelay(1))))
	}
	if j.SkipWhenPaused {
		add("when paused", "runs are Skipped")
	}
	if e := j.Env; e.EnvFile != "" {
		add("env file", e.EnvFile)
	}
	if j.Env.Cwd != "" {
		add("directory", j.Env.Cwd)
	}
	if j.Env.Nice != nil {
		add("nice", strconv.Itoa(*j.Env.Nice))
	}
	if j.Env.IONice != nil {
		add("ionice", j.Env.IONice.String())
	}
	if j.Env.Umask != nil {
		add("umask", fmt.Sprintf("%04o", *j.Env.Umask))
	}
	return out
}

// envFromView is the inverse of settingsJSON's environment settings: a
// job's, as another troc printed them (troc --host).
func envFromView(v controlJSON) execEnv {
	e := execEnv{EnvFile: deref(v.EnvFile), Cwd: deref(v.Cwd), Nice: v.Nice}
	if p, err := parseIOPriority(deref(v.IONice)); v.IONice != nil && err == nil {
		e.IONice = &p
	}
	if m, err := strconv.ParseUint(deref(v.Umask), 8, 32); v.Umask != nil && err == nil {
		n := int(m)
		e.Umask = &n
	}
	return e
}
