package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"syscall"
	"time"
)

// Run is one run of a job, as recorded in the history.
type Run struct {
	ID            int64 // 0 until the history has it
	Job           string
	Status        Status
	Start         time.Time
	End           time.Time // zero while running
	ExitCode      *int      // nil unless the job exited by itself
	Signal        syscall.Signal
	PID           int
	PIDStart      int64 // the pid's start time, in clock ticks after boot
	Host          string
	Command       string
	LogFile       string
	SystemLogFile string
	OutputBytes   int64
	Note          string
	SpoolKey      string // set while the run lives in a spool file
	Inferred      bool   // the end was presumed (its troc was gone), not seen
	Usage         *Usage // what the job used (rusage.go); nil: it did not run, or it ran before troc kept this

	// Job control (schema/0006_job_control.sql); zero when unused.
	Waited   time.Duration // how long the run waited for its lock (--lock-wait)
	Jitter   time.Duration // how long troc slept before taking the lock (--jitter)
	LockName string        // the shared lock taken besides the job's own (--lock)
	Attempt  int           // 1, 2, ... for a run under --retry; 0 otherwise
	RetryOf  int64         // the first attempt's id, for attempts after the first
	Retried  bool          // troc ran the job again after this attempt

	Environment string // the environment flags of the run, as execEnv.String says them; "": none

	// The troc recording the run, while a spool file holds it: a replay
	// must not take a run whose troc is alive for an orphan.
	TrocPID   int   `json:",omitempty"`
	TrocStart int64 `json:",omitempty"`
}

// nextAttempt returns the run of the attempt after r (--retry): the same
// job, command, troc, system log, shared lock and environment, linked to
// the first attempt, with nothing of r's own: no start, outcome or log.
func (r *Run) nextAttempt() Run {
	first := r.RetryOf
	if first == 0 {
		first = r.ID // 0 if the first attempt went to the spool
	}
	return Run{Job: r.Job, Host: r.Host, Command: r.Command, TrocPID: r.TrocPID, TrocStart: r.TrocStart,
		SystemLogFile: r.SystemLogFile, LockName: r.LockName, Environment: r.Environment,
		Attempt: r.Attempt + 1, RetryOf: first}
}

// finished reports whether the run has reached a final state.
func (r *Run) finished() bool { return r.Status != StatusRunning }

// addNote appends a sentence to the run's note.
func (r *Run) addNote(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if r.Note != "" {
		r.Note += "; "
	}
	r.Note += s
}

// runJSON is the run as troc prints it for people and scripts. Its keys
// are a promise: scripts parse them.
type runJSON struct {
	ID            *int64     `json:"id"`
	Job           string     `json:"job"`
	Status        Status     `json:"status"`
	ExitCode      *int       `json:"exit_code"`
	Signal        *string    `json:"signal"`
	StartTime     *string    `json:"start_time"`
	EndTime       *string    `json:"end_time"`
	DurationMS    *int64     `json:"duration_ms"`
	LogFile       *string    `json:"log_file"`
	SystemLogFile *string    `json:"system_log_file"`
	PID           *int       `json:"pid"`
	Host          string     `json:"host"`
	Command       string     `json:"command"`
	OutputBytes   int64      `json:"output_bytes"`
	Note          *string    `json:"note"`
	Resources     *usageJSON `json:"resources"` // null: none recorded
	// Job control: present only for runs that used it.
	WaitedMS *int64  `json:"waited_ms,omitempty"`
	JitterMS *int64  `json:"jitter_ms,omitempty"`
	Lock     *string `json:"lock,omitempty"`
	Attempt  *int    `json:"attempt,omitempty"`
	RetryOf  *int64  `json:"retry_of,omitempty"`
	Retried  bool    `json:"retried,omitempty"`
	// The environment flags of the run (--cwd, --nice, ...), when it had any.
	Environment *string `json:"environment,omitempty"`
}

// timeLayout is RFC 3339 with milliseconds, always the same width.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// jsonView returns the run as printed, with times in loc.
func (r *Run) jsonView(loc *time.Location) runJSON {
	v := runJSON{
		Job:           r.Job,
		Status:        r.Status,
		ExitCode:      r.ExitCode,
		Host:          r.Host,
		Command:       r.Command,
		OutputBytes:   r.OutputBytes,
		LogFile:       nonEmpty(r.LogFile),
		SystemLogFile: nonEmpty(r.SystemLogFile),
		Note:          nonEmpty(r.Note),
		Resources:     r.Usage.view(),
	}
	if r.ID != 0 {
		v.ID = &r.ID
	}
	v.WaitedMS, v.JitterMS = positiveMS(r.Waited), positiveMS(r.Jitter)
	v.Lock, v.Retried, v.Environment = nonEmpty(r.LockName), r.Retried, nonEmpty(r.Environment)
	if r.Attempt > 0 {
		v.Attempt = &r.Attempt
	}
	if r.RetryOf > 0 {
		v.RetryOf = &r.RetryOf
	}
	if r.Signal != 0 {
		name := signalName(r.Signal)
		v.Signal = &name
	}
	if r.PID != 0 {
		v.PID = &r.PID
	}
	v.StartTime, v.EndTime = timeJSON(r.Start, loc), timeJSON(r.End, loc)
	if !r.End.IsZero() {
		d := r.End.Sub(r.Start).Milliseconds()
		v.DurationMS = &d
	}
	return v
}

// writeJSON prints the run as indented JSON.
func (r *Run) writeJSON(w io.Writer, loc *time.Location) error {
	return writeJSON(w, r.jsonView(loc))
}

// writeJSON writes v as indented JSON, as troc prints everything.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // commands are full of & and >
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// writeJSONList writes items as a JSON array with one compact element per
// line: as valid for jq as an indented array, greppable line by line, and
// several times cheaper to produce for a thousand jobs.
func writeJSONList[T any](w io.Writer, items []T) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // commands are full of & and >
	buf.WriteString("[")
	for i, item := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := enc.Encode(item); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteString("\n]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// exitStatus is the exit status troc exec gave for the run: the job's own
// status, 128+N for signal N, 124 for a timeout, 75 when skipped, and 1
// for a run that ended with none of those (troc could not start it, or it
// was marked Terminated).
func (r *Run) exitStatus() int {
	switch {
	case r.Status == StatusSucceeded:
		return exitOK
	case r.Status == StatusSkipped:
		return exitSkipped
	case r.Status == StatusTimedOut:
		return exitTimedOut
	case r.ExitCode != nil && *r.ExitCode == 0:
		return exitError // Failed though it exited 0: --stderr-fails
	case r.ExitCode != nil:
		return *r.ExitCode
	case r.Signal != 0:
		return 128 + int(r.Signal)
	}
	return exitError
}

// timeJSON formats t for JSON; nil for the zero time.
func timeJSON(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(timeLayout)
	return &s
}

// positiveMS is d in milliseconds for JSON; nil unless d > 0.
func positiveMS(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	n := d.Milliseconds()
	return &n
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// runFromView is the inverse of jsonView: the run that another troc
// printed (troc --host), to be shown as this troc shows its own. The ID
// and times are what the other host recorded.
func runFromView(v runJSON) (*Run, error) {
	r := &Run{
		ID: deref(v.ID), Job: v.Job, Status: v.Status, ExitCode: v.ExitCode, PID: deref(v.PID), Host: v.Host, Command: v.Command,
		OutputBytes: v.OutputBytes, LogFile: deref(v.LogFile), SystemLogFile: deref(v.SystemLogFile), Note: deref(v.Note),
		Waited: msDuration(v.WaitedMS), Jitter: msDuration(v.JitterMS), LockName: deref(v.Lock),
		Attempt: deref(v.Attempt), RetryOf: deref(v.RetryOf), Retried: v.Retried, Environment: deref(v.Environment),
		Usage: v.Resources.usage(),
	}
	if v.Signal != nil {
		r.Signal = signalNumber(*v.Signal)
	}
	var err error
	if r.Start, err = parseTimeJSON(v.StartTime); err != nil {
		return nil, fmt.Errorf("run %d: start_time: %w", r.ID, err)
	}
	if r.End, err = parseTimeJSON(v.EndTime); err != nil {
		return nil, fmt.Errorf("run %d: end_time: %w", r.ID, err)
	}
	return r, nil
}

// parseTimeJSON is the inverse of timeJSON: the zero time for nil.
func parseTimeJSON(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *s)
}

// deref is what p points to, or T's zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
