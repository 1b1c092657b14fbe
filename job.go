package main

// A job and a change to its settings, as the commands pass them around.

import (
	"fmt"
	"time"

	_ "modernc.org/sqlite"
)

// Job is a job's stored settings.
type Job struct {
	ID          int64
	Name        string
	Description string
	Timeout     time.Duration // 0: none
	NotifyLog   bool          // include the log's tail in notifications
	Notify      bool          // notify after every run, as if exec had --notify
	NotifyOn    []Status      // statuses that notify; nil: the config's notify.on
	LastSuccess time.Time     // end of the latest Succeeded run; zero: none
	Created     time.Time
	Schedule    string        // cron expression (cron.go); "": none
	ScheduleSet time.Time     // when the schedule was set
	Grace       time.Duration // how late a scheduled run may start; 0: defaultGrace
	MaxRuntime  time.Duration // running longer is stuck; 0: no limit
}

// jobBusyError says a job cannot be deleted: a run of it is in progress.
type jobBusyError struct{ run int64 }

func (e *jobBusyError) Error() string { return fmt.Sprintf("run %d is in progress", e.run) }

// jobChange is a change to a job's settings; nil fields stay as they are.
type jobChange struct {
	Rename      *string
	Description *string
	Timeout     *time.Duration // 0: none
	NotifyLog   *bool
	Notify      *bool
	NotifyOn    *[]Status // a nil slice: back to the config's notify.on
	Schedule    *string   // "": none; setting it also sets schedule_ms
	Grace       *time.Duration
	MaxRuntime  *time.Duration
	Now         time.Time // when the change is made
}
