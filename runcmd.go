package main

// troc run: list, show, log, watch, term and kill runs of the history.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// runSelectFlags defines --name, --status and --since on fs, as the
// commands that select runs (run list, run grep) take them, and returns
// what to call once fs is parsed: it checks them, opens the history and
// makes the filter they say. Its errors are usage errors, but for those
// of opening the history and finding the job, which go through fail (run
// grep exits 2 on them, as grep does).
func runSelectFlags(fs *flag.FlagSet) func(ctx context.Context, a *app, fail func(error) error) (*history, runFilter, error) {
	name := fs.String("name", "", "only runs of the job `NAME`")
	status := fs.String("status", "", "only runs in these `STATUSES`, comma-separated: "+statusList(Statuses))
	since := fs.String("since", "", "only runs started after `DUR|TIME`: a duration back from now (90m, 2d) or a time (2026-11-25, 2026-11-25 14:00, RFC 3339)")
	return func(ctx context.Context, a *app, fail func(error) error) (*history, runFilter, error) {
		var f runFilter
		var err error
		if f.Statuses, err = parseStatuses("--status", *status); err != nil {
			return nil, f, err
		}
		h, err := a.openHistoryFor(ctx, *name, false)
		if err != nil {
			return nil, f, fail(err)
		}
		if *since != "" {
			if f.Since, err = parseSince(*since, h.now(), h.loc); err != nil {
				return nil, f, err
			}
		}
		if *name != "" {
			job, err := h.findJob(ctx, *name)
			if err != nil {
				return nil, f, fail(err)
			}
			f.JobID = job.ID
		}
		return h, f, nil
	}
}

// runListCmd is troc run list.
func runListCmd(fs *flag.FlagSet) runFunc {
	selection := runSelectFlags(fs)
	limit := fs.Int("limit", 20, "show at most `N` runs, newest first; 0 for all")
	format := outputFlags(fs, "runs")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		out, err := format()
		if err != nil {
			return err
		}
		if *limit < 0 {
			return usagef("invalid --limit %d: want 0 (all) or more", *limit)
		}
		h, f, err := selection(ctx, a, func(err error) error { return err })
		if err != nil {
			return err
		}
		f.Limit = *limit
		runs, err := h.db.listRuns(ctx, f)
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		if out == formatJSON {
			views := make([]runJSON, len(runs))
			for i, r := range runs {
				views[i] = r.jsonView(h.loc)
			}
			return writeJSONList(a.stdout, views)
		}
		return writeRunTable(a.stdout, h.newDisplay(a.stdout).forFormat(out), h.now(), runs, nil)
	}
}

// writeRunTable writes troc run list's table; hosts, when not nil, names
// the host of each run (troc --host).
func writeRunTable(w io.Writer, d display, now time.Time, runs []*Run, hosts []string) error {
	rows := make([][]cell, len(runs))
	for i, r := range runs {
		rows[i] = []cell{
			{text: strconv.FormatInt(r.ID, 10)},
			{text: r.Job},
			d.status(r.Status),
			{text: d.time(r.Start)},
			{text: runDuration(r, now)},
			{text: runExit(r)},
		}
	}
	header, rows := withHosts([]string{"ID", "JOB", "STATUS", "START", "DURATION", "EXIT"}, rows, hosts)
	return d.writeTable(w, header, rows)
}

// runDuration is how long the run took, or has been running so far.
func runDuration(r *Run, now time.Time) string {
	if r.End.IsZero() {
		return formatDuration(now.Sub(r.Start)) + "…"
	}
	return formatDuration(r.End.Sub(r.Start))
}

// runExit is the run's exit code, or the signal that ended it, or "-".
func runExit(r *Run) string {
	switch {
	case r.ExitCode != nil:
		return strconv.Itoa(*r.ExitCode)
	case r.Signal != 0:
		return signalName(r.Signal)
	}
	return "-"
}

// runShowJSON is troc run show's output: the run, and the settings of its
// job.
type runShowJSON struct {
	runJSON
	JobSettings jobSettingsJSON `json:"job_settings"`
}

// runShowCmd is troc run show.
func runShowCmd(fs *flag.FlagSet) runFunc {
	idFlag := runIDFlag(fs)
	fs.Bool("json", true, "print JSON (the only form)")
	return func(a *app, ctx context.Context, args []string) error {
		h, r, err := a.openRun(ctx, fs, args, idFlag)
		if err != nil {
			return err
		}
		job, err := h.findJob(ctx, r.Job)
		if err != nil {
			return err
		}
		return writeJSON(a.stdout, runShowJSON{runJSON: r.jsonView(h.loc), JobSettings: settingsJSON(job, h.now(), h.loc)})
	}
}

// runLogCmd is troc run log.
func runLogCmd(fs *flag.FlagSet) runFunc {
	idFlag := runIDFlag(fs)
	tail := fs.Int("tail", 0, "print only the last `N` lines")
	return func(a *app, ctx context.Context, args []string) error {
		r, f, err := a.openRunLogArgs(ctx, fs, args, idFlag)
		if err != nil {
			return err
		}
		defer f.Close()
		switch {
		case *tail < 0:
			return usagef("invalid --tail %d: want a number of lines", *tail)
		case *tail > 0:
			b, err := tailLines(r.LogFile, *tail)
			if err != nil {
				return fmt.Errorf("read log of run %d: %w", r.ID, err)
			}
			_, err = a.stdout.Write(b)
			return err
		}
		if _, err := io.Copy(a.stdout, f); err != nil {
			return fmt.Errorf("read log of run %d: %w", r.ID, err)
		}
		return nil
	}
}

// watchPoll is how often troc run watch looks for new output and for the
// run's end: well inside the 100 ms within which output should show.
const watchPoll = 40 * time.Millisecond

// runWatchCmd is troc run watch: the log so far, then new output as it is
// written, until the run ends; it exits with the run's exit status.
func runWatchCmd(fs *flag.FlagSet) runFunc {
	idFlag := runIDFlag(fs)
	return func(a *app, ctx context.Context, args []string) error {
		h, r, err := a.openRun(ctx, fs, args, idFlag)
		if err != nil {
			return err
		}
		if r.Status == StatusSkipped {
			// Nothing to follow, but a script waiting on the run gets the
			// status troc exec gave it, as for any finished run.
			fmt.Fprintf(a.stderr, "troc: run %d was Skipped: it never ran, so it has no log\n", r.ID)
			return exitStatus(exitSkipped)
		}
		f, err := openRunLog(r)
		if err != nil {
			return err
		}
		defer f.Close()
		host, _ := os.Hostname()
		tick := time.NewTicker(watchPoll)
		defer tick.Stop()
		for {
			// The status first, then the output: troc exec has drained all
			// of the job's output into the log before it records the end,
			// so once the end is seen, one more copy has everything.
			if r.Status == StatusRunning {
				if r, err = h.db.getRun(ctx, r.ID); err != nil {
					return err
				}
				if r.Status == StatusRunning && r.Host == host && !runAlive(r) {
					h.markOrphans(ctx)
				}
			}
			if _, err := io.Copy(a.stdout, f); err != nil {
				return fmt.Errorf("read log of run %d: %w", r.ID, err)
			}
			if r.Status != StatusRunning {
				return exitStatus(r.exitStatus())
			}
			// New output may be hours away, and only a write would find that
			// no one reads any more: the end of a pipeline quit, or the ssh of
			// "troc --host H run watch" was interrupted. Leave as a write
			// would have left, by SIGPIPE's status, without a word.
			if readerGone(a.stdout) {
				return exitStatus(128 + int(syscall.SIGPIPE))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
}

// readerGone tells whether w is a pipe or socket whose reading end has
// been closed: poll(2) then reports an error or a hang-up on it at once.
// A terminal or a file is never gone.
func readerGone(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return false
	}
	const pollErr, pollHup = 0x8, 0x10 // POLLERR, POLLHUP
	var gone bool
	conn.Control(func(fd uintptr) {
		pfd := struct {
			fd              int32
			events, revents int16
		}{fd: int32(fd)}
		var zero syscall.Timespec // do not wait
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
			uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		gone = errno == 0 && n == 1 && pfd.revents&(pollErr|pollHup) != 0
	})
	return gone
}

// runTermCmd is troc run term: it records a Running run as Terminated by
// hand, touching no process.
func runTermCmd(fs *flag.FlagSet) runFunc {
	idFlag := runIDFlag(fs)
	asJSON := fs.Bool("json", false, "print the run as JSON")
	return func(a *app, ctx context.Context, args []string) error {
		h, r, err := a.openRun(ctx, fs, args, idFlag)
		if err != nil {
			return err
		}
		err = h.db.terminateRun(ctx, r.ID, h.now(), "marked Terminated by hand (troc run term)")
		if errors.Is(err, errNotRunning) {
			if r, err = h.db.getRun(ctx, r.ID); err == nil {
				err = fmt.Errorf("run %d is not running: it ended %s", r.ID, r.Status)
			}
		}
		if err != nil {
			return err
		}
		if r, err = h.db.getRun(ctx, r.ID); err != nil {
			return err
		}
		if *asJSON {
			return r.writeJSON(a.stdout, h.loc)
		}
		fmt.Fprintf(a.stdout, "run %d of %s marked Terminated\n", r.ID, termText(r.Job))
		return nil
	}
}

// runKillCmd is troc run kill: a signal to a running run's process group,
// only once its pid is known to still be the run's.
func runKillCmd(fs *flag.FlagSet) runFunc {
	idFlag, sigName, force := killFlags(fs)
	return func(a *app, ctx context.Context, args []string) error {
		id, err := a.parseRunArgs(fs, args, idFlag)
		if err != nil {
			return err
		}
		sig, err := parseSignal(*sigName)
		if err != nil {
			return err
		}
		_, r, err := a.loadRun(ctx, id)
		if err != nil {
			return err
		}
		if err := checkSignalable(r); err != nil {
			return err
		}
		question := fmt.Sprintf("Send %s to run %d of %s (process group %d: %s)?",
			signalName(sig), r.ID, r.Job, r.PID, truncate(r.Command, 60))
		if !*force && !a.confirm(question) {
			return errors.New("not confirmed; no signal sent")
		}
		if err := signalRun(r, sig); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "sent %s to run %d of %s (process group %d)\n", signalName(sig), r.ID, termText(r.Job), r.PID)
		return nil
	}
}

// killFlags defines troc run kill's flags: the run id, the signal, and
// --force. troc --host parses them too, to ask for confirmation here.
func killFlags(fs *flag.FlagSet) (id, signal *string, force *bool) {
	id = runIDFlag(fs)
	signal = fs.String("signal", "TERM", "the `SIGNAL` to send: a name (TERM, SIGKILL, hup) or a number")
	force = fs.Bool("force", false, "do not ask for confirmation on a terminal")
	return id, signal, force
}

// checkSignalable says why troc cannot signal run r, if it cannot: it must
// be Running, on this host, with its recorded process still alive and
// started when it was recorded to. A run whose pid's start time was not
// recorded is refused: whatever process has that pid now would get the
// signal.
func checkSignalable(r *Run) error {
	host, _ := os.Hostname()
	switch {
	case r.Status != StatusRunning:
		return fmt.Errorf("run %d is not running: it ended %s", r.ID, r.Status)
	case r.Host != host:
		return fmt.Errorf("run %d runs on host %s, not on this one (%s)", r.ID, r.Host, host)
	case r.PID <= 0:
		return fmt.Errorf("run %d has no recorded process", r.ID)
	case r.PIDStart == 0:
		return errUnknownPIDStart(r)
	case !runAlive(r):
		// markOrphans, when the history was opened, saw it alive; it is
		// gone now, so leave its state to the next look.
		return fmt.Errorf("run %d: process %d is gone, or now belongs to another program; no signal sent", r.ID, r.PID)
	}
	return nil
}

// signalRun sends sig to run r's process group. The job leads its own
// process group (troc exec makes it so): signalling the group reaches
// every process it started that stayed in it. Whether the pid is still the
// run's is checked again just before, to keep the window for pid reuse as
// small as it can be.
func signalRun(r *Run, sig syscall.Signal) error {
	if r.PIDStart == 0 {
		return errUnknownPIDStart(r)
	}
	if !runAlive(r) {
		return fmt.Errorf("run %d: process %d ended meanwhile; no signal sent", r.ID, r.PID)
	}
	if err := syscall.Kill(-r.PID, sig); err != nil {
		if err != syscall.ESRCH {
			return fmt.Errorf("signal run %d: %w", r.ID, err)
		}
		// The job left its group: signal the job alone.
		if err := syscall.Kill(r.PID, sig); err != nil {
			return fmt.Errorf("signal run %d: %w", r.ID, err)
		}
	}
	return nil
}

// errUnknownPIDStart refuses to signal run r, whose pid's start time was
// not recorded: nothing tells whether the pid is still the run's.
func errUnknownPIDStart(r *Run) error {
	return withHint(fmt.Errorf("run %d: the start time of process %d was not recorded, so troc cannot tell that it is still the run's; no signal sent", r.ID, r.PID),
		fmt.Sprintf("see with ps -o lstart,args -p %d whether it is the job, and signal it yourself; troc run term -r %d marks the run Terminated", r.PID, r.ID))
}

// runIDFlag defines -r, the run id flag every single-run command takes,
// and --run-id, the original troc's spelling of it.
func runIDFlag(fs *flag.FlagSet) *string {
	id := fs.String("r", "", "the run's `ID` (or give it as an argument)")
	fs.StringVar(id, "run-id", "", "same as -r")
	return id
}

// openRun parses a single-run command's arguments, opens the history and
// returns the run they name, with -r or as the one argument.
func (a *app) openRun(ctx context.Context, fs *flag.FlagSet, args []string, idFlag *string) (*history, *Run, error) {
	id, err := a.parseRunArgs(fs, args, idFlag)
	if err != nil {
		return nil, nil, err
	}
	return a.loadRun(ctx, id)
}

// parseRunArgs parses a single-run command's arguments and returns the
// run id.
func (a *app) parseRunArgs(fs *flag.FlagSet, args []string, idFlag *string) (int64, error) {
	positional, err := a.parseArgs(fs, args)
	if err != nil {
		return 0, err
	}
	text := *idFlag
	switch {
	case len(positional) > 1 || len(positional) == 1 && text != "":
		return 0, usagef("give one run id, with -r or as an argument")
	case len(positional) == 1:
		text = positional[0]
	case text == "":
		return 0, withHint(usagef("no run id given"), "troc run list shows the ids")
	}
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("invalid run id %q: want a positive whole number", text)
	}
	return id, nil
}

// loadRun opens the history and returns the run with the given id.
func (a *app) loadRun(ctx context.Context, id int64) (*history, *Run, error) {
	h, err := a.openHistory(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := h.db.getRun(ctx, id)
	if err != nil {
		if errors.Is(err, errRunNotFound) {
			err = withHint(fmt.Errorf("no run %d in the history", id), "troc run list shows the ids")
		}
		return nil, nil, err
	}
	return h, r, nil
}

// openRunLogArgs is openRun, then openRunLog.
func (a *app) openRunLogArgs(ctx context.Context, fs *flag.FlagSet, args []string, idFlag *string) (*Run, *os.File, error) {
	_, r, err := a.openRun(ctx, fs, args, idFlag)
	if err != nil {
		return nil, nil, err
	}
	f, err := openRunLog(r)
	return r, f, err
}

// openRunLog opens the run's log, or says plainly why there is none.
func openRunLog(r *Run) (*os.File, error) {
	switch {
	case r.Status == StatusSkipped:
		return nil, fmt.Errorf("run %d was Skipped: it never ran, so it has no log", r.ID)
	case r.LogFile == "":
		return nil, fmt.Errorf("run %d has no log: troc could not create one (see its note)", r.ID)
	}
	f, err := openLog(r.LogFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("log of run %d is gone: %s was deleted or pruned", r.ID, r.LogFile)
	}
	if err != nil {
		return nil, fmt.Errorf("open log of run %d: %w", r.ID, err)
	}
	return f, nil
}
