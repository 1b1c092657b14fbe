package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"
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

// writeJSON prints the run as indented JSON: the bytes that the function
// writeJSON prints for its jsonView (see appendJSON).
func (r *Run) writeJSON(w io.Writer, loc *time.Location) error {
	v := r.jsonView(loc)
	_, err := w.Write(v.appendJSON(nil))
	return err
}

// appendJSON appends v to b as writeJSON prints it (encoding/json's form,
// indented by four spaces, HTML not escaped), written out by hand: troc
// exec prints it on its way out, and encoding/json's first use in a
// process builds the type's encoder by reflection, 0.13 ms here (median
// of 60) against 0.01 ms for the same print again. TestRunJSONByHand
// holds the two to the same bytes, field by field.
func (v *runJSON) appendJSON(b []byte) []byte {
	o := jsonObject{b: append(b, '{'), indent: "\n    "}
	optInt(&o, "id", v.ID)
	o.str("job", v.Job)
	o.str("status", string(v.Status))
	optInt(&o, "exit_code", v.ExitCode)
	o.optStr("signal", v.Signal)
	o.optStr("start_time", v.StartTime)
	o.optStr("end_time", v.EndTime)
	optInt(&o, "duration_ms", v.DurationMS)
	o.optStr("log_file", v.LogFile)
	o.optStr("system_log_file", v.SystemLogFile)
	optInt(&o, "pid", v.PID)
	o.str("host", v.Host)
	o.str("command", v.Command)
	o.int("output_bytes", v.OutputBytes)
	o.optStr("note", v.Note)
	o.key("resources")
	if u := v.Resources; u == nil {
		o.b = append(o.b, "null"...)
	} else {
		r := jsonObject{b: append(o.b, '{'), indent: "\n        "}
		r.float("user_cpu_ms", u.UserCPUMS)
		r.float("system_cpu_ms", u.SystemCPUMS)
		r.int("max_rss_bytes", u.MaxRSSBytes)
		r.int("blocks_in", u.BlocksIn)
		r.int("blocks_out", u.BlocksOut)
		r.int("voluntary_ctx_switches", u.VolSwitches)
		r.int("involuntary_ctx_switches", u.InvolSwitches)
		o.b = append(r.b, "\n    }"...)
	}
	// The job control fields are omitted when empty (omitempty).
	if v.WaitedMS != nil {
		optInt(&o, "waited_ms", v.WaitedMS)
	}
	if v.JitterMS != nil {
		optInt(&o, "jitter_ms", v.JitterMS)
	}
	if v.Lock != nil {
		o.optStr("lock", v.Lock)
	}
	if v.Attempt != nil {
		optInt(&o, "attempt", v.Attempt)
	}
	if v.RetryOf != nil {
		optInt(&o, "retry_of", v.RetryOf)
	}
	if v.Retried {
		o.key("retried")
		o.b = append(o.b, "true"...)
	}
	if v.Environment != nil {
		o.optStr("environment", v.Environment)
	}
	return append(o.b, "\n}\n"...)
}

// jsonObject writes the members of a JSON object, each on a line of its
// own after indent (a newline and the spaces), as appendJSON needs.
type jsonObject struct {
	b      []byte
	indent string
	more   bool
}

// key starts the next member: the comma after the last one, the line,
// the key and the colon.
func (o *jsonObject) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, o.indent...)
	o.b = appendJSONString(o.b, k)
	o.b = append(o.b, ": "...)
}

// str, optStr, int, float and optInt write a member of each kind of
// value: optStr and optInt write null for nil.
func (o *jsonObject) str(k, s string) {
	o.key(k)
	o.b = appendJSONString(o.b, s)
}

func (o *jsonObject) optStr(k string, s *string) {
	o.key(k)
	if s == nil {
		o.b = append(o.b, "null"...)
	} else {
		o.b = appendJSONString(o.b, *s)
	}
}

func (o *jsonObject) int(k string, n int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, n, 10)
}

func (o *jsonObject) float(k string, f float64) {
	o.key(k)
	o.b = appendJSONFloat(o.b, f)
}

func optInt[T int | int64](o *jsonObject, k string, n *T) {
	if n == nil {
		o.key(k)
		o.b = append(o.b, "null"...)
	} else {
		o.int(k, int64(*n))
	}
}

// appendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form only below 1e-6
// or from 1e21 on, with an exponent of one digit not padded ("e-7").
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping off: quotes and backslashes escaped, \b \f \n \r \t by name,
// other control characters as \u00XX, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 escaped (JavaScript reads them as line ends).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				switch r {
				case utf8.RuneError:
					b = append(b, `\ufffd`...)
				default:
					b = append(b, `\u202`...)
					b = append(b, hex[r&0xf])
				}
				start = i + size
			}
			i += size
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
