package main

// A job and a change to its settings, as the commands pass them around.

import (
	"fmt"
	"time"

	_ "modernc.org/sqlite"
)

// Job is a job's stored settings.
type Job struct {
	ID           int64
	Name         string
	Description  string
	Timeout      time.Duration // 0: none
	NotifyLog    bool          // include the log's tail in notifications
	Notify       bool          // notify after every run, as if exec had --notify
	NotifyOn     []Status      // statuses that notify; nil: the config's notify.on
	LastSuccess  time.Time     // end of the latest Succeeded run; zero: none
	Created      time.Time
	Schedule     string        // cron expression (cron.go); "": none
	ScheduleSet  time.Time     // when the schedule was set
	Grace        time.Duration // how late a scheduled run may start; 0: defaultGrace
	MaxRuntime   time.Duration // running longer is stuck; 0: no limit
	MinRuntime   time.Duration // a successful run shorter is suspect; 0: its median decides (anomaly.go)
	ExpectOutput bool          // a successful run that wrote nothing is suspect

	jobControl
	Paused      time.Time // when troc job pause paused it; zero: not paused
	PauseUntil  time.Time // when the pause ends by itself; zero: at troc job resume
	PauseReason string
}

// jobControl is how troc exec runs a job (schema/0006_job_control.sql):
// a job's settings, which exec's flags of the same names override. Zero
// values are troc's defaults.
type jobControl struct {
	LockName       string        // a shared lock taken besides the job's own; "": none
	LockWait       time.Duration // how long to wait for the lock; 0: skip at once
	SkipExit       *int          // troc exec's status for a Skipped run; nil: exitSkipped
	Jitter         time.Duration // sleep up to this long before taking the lock
	Retries        int           // run a failed job again up to this many times
	RetryDelay     time.Duration // before the first retry; doubling; 0: defaultRetryDelay
	SkipWhenPaused bool          // a paused job's runs are Skipped rather than run
	Env            execEnv       // how the job runs (execenv.go)
}

// controlChange is a change to a job's jobControl; nil fields stay.
type controlChange struct {
	LockName       *string
	LockWait       *time.Duration
	SkipExit       **int
	Jitter         *time.Duration
	Retries        *int
	RetryDelay     *time.Duration
	SkipWhenPaused *bool
	Env            *execEnv // its given fields; nil: none
}

// jobBusyError says a job cannot be deleted: a run of it is in progress.
type jobBusyError struct{ run int64 }

func (e *jobBusyError) Error() string { return fmt.Sprintf("run %d is in progress", e.run) }

// jobChange is a change to a job's settings; nil fields stay as they are.
type jobChange struct {
	Rename       *string
	Description  *string
	Timeout      *time.Duration // 0: none
	NotifyLog    *bool
	Notify       *bool
	NotifyOn     *[]Status // a nil slice: back to the config's notify.on
	Schedule     *string   // "": none; setting it also sets schedule_ms
	Grace        *time.Duration
	MaxRuntime   *time.Duration
	MinRuntime   *time.Duration
	ExpectOutput *bool
	Control      controlChange
	Now          time.Time // when the change is made
}
