package main

// Rules of troc exec.
//
// The job runs in a process group of its own. troc forwards SIGTERM,
// SIGINT and SIGHUP to the whole group, so a shell's children stop with
// it, and so a Ctrl-C at a terminal reaches the job once, through troc,
// rather than twice. A timeout also signals the group: SIGTERM, then
// SIGKILL after the kill-after delay; a forwarded signal that the job
// ignores is followed by SIGKILL after the same delay.
//
// troc only signals the group while the job's leader has not been reaped:
// it learns of the exit with waitid(WNOWAIT), stops signalling, then reaps.
// Until the reap the pid, and so the group id, cannot be reused by an
// unrelated process.
//
// Before the lock, troc waits for the job's settings (the recorder reads
// them while the rest is set up): they may name a shared lock, a wait for
// it, a jitter to sleep, a pause. That is a read of the history, which a
// writer holding it does not delay (WAL), and a broken history gives the
// defaults at once; a history that stalls even a read is waited for
// settingsWait at most, then the run goes on with its flags alone. A
// signal during that wait ends troc before the job starts; a wait for
// the lock or a sleep before it ends at a signal, with a Skipped run.
//
// The job starts as soon as troc holds its lock. From then on the
// supervisor only supervises the job (wait): signals, the timeout, the
// exit. Everything that touches the history runs in the recorder
// (recorder), beside the set-up and the job: opening it, the Running row
// (with the pid and the pid's start time from /proc), the end; the
// supervisor only hands it the run and, once the job has ended, waits for
// the end to be recorded. A busy history is waited on once, for the
// busy timeout; a broken one not at all. What it will not take goes to
// the spool (spool.go), with the run's real times, so the job's run never
// depends on the database. The end is recorded as
// soon as the job has exited and its output is drained, before the lock
// is released; replaying other runs' spool files, retention and metrics
// come after that.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// testHookSetup, when a test sets it, runs while troc exec sets a run up,
// after it has started watching signals and read its config: the one
// moment a test cannot otherwise hold troc at. It gets the channel
// troc's signals arrive on. It is nil in troc itself.
var testHookSetup func(sigs chan os.Signal)

// execution is one troc exec from start to finish.
//
// Two goroutines share it from the start of the set-up. The supervisor
// (supervise) sets the run up and supervises the job (wait): signals, the
// timeout, the exit. The recorder (recorder: troc's main goroutine, or a
// retry's own) does everything that touches the history, and owns db,
// opened, job and notifier until its done channel closes; the supervisor
// uses them only after that, and tells it the run only through its
// channel. So nothing the history does can delay
// the set-up or the supervision.
type execution struct {
	a      *app
	opts   *execOptions
	cfg    *Config
	log    *slog.Logger
	diag   *diag
	db     *DB    // nil when the history is unavailable
	opened bool   // the history was opened (or found unavailable)
	job    Job    // the job's settings, once opened
	logDir string // private log directory; "" if unusable
	run    Run
	loc    *time.Location

	spooled      string      // the spool file the run was written to, once it was
	late         string      // why the run went to the spool, for its note
	idLost       bool        // the id the history gave the run may not survive (errWALGone)
	newJob       bool        // the history has no row for the job yet
	lostEnd      []byte      // the end of the output, when a full disk kept it out of the log
	locks        []*os.File  // the job's lock, and the shared one (--lock), while held
	holder       *heldError  // who held the lock of a run Skipped for it; the recorder's once sent
	settings     Job         // the job's settings, as the recorder read them before the lock
	settingsLate bool        // the job started without them: they had not come in time
	ctl          jobControl  // the job control in force: the job's settings under the run's flags
	stderrBytes  int64       // what the job wrote to stderr, counted only for --stderr-fails
	rec          *recording  // the recorder, once started
	sysLog       chan string // openSystemLog's result, until awaitSystemLog takes it
	notifier     *runNotifier
	notifierMade bool
}

// execCmd is troc exec: it runs a job.
func execCmd(fs *flag.FlagSet) runFunc {
	parse := execFlags(fs)
	return func(a *app, ctx context.Context, args []string) error {
		opts, err := parse(a, args)
		if err != nil {
			return err
		}
		return a.exec(ctx, opts)
	}
}

// exec runs a job with the options its command line gave.
func (a *app) exec(ctx context.Context, opts *execOptions) error {
	// Signals are watched from the start so that one arriving while troc
	// sets up is not lost: it is forwarded as soon as the job exists. They
	// are never un-watched (signal.Stop waits for the runtime's signal
	// thread to go idle): troc exits when exec returns.
	sigs, sigsReady := watchSignals()

	var firstUse, warnings []string
	cfg, err := loadConfig(a.env, func(msg string) { firstUse = append(firstUse, msg) },
		func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		return err
	}
	if testHookSetup != nil {
		<-sigsReady
		testHookSetup(sigs)
	}
	d := &diag{stderr: a.stderr, quiet: opts.quiet}
	defer d.close()
	e := &execution{a: a, opts: opts, cfg: cfg, diag: d, log: newLogger(d, cfg.LogJSON), loc: cfg.location()}
	for _, msg := range firstUse {
		e.log.Info(msg)
	}
	for _, msg := range warnings {
		e.log.Warn(msg) // and so -q's summary shows them, for cron to mail
	}
	host, _ := os.Hostname()
	e.run = Run{Job: opts.name, Host: host, Command: opts.commandLine(), Start: nowMS(),
		TrocPID: os.Getpid()}
	e.run.TrocStart, _ = procStartTime(e.run.TrocPID)
	// From here two goroutines share the run (see execution). This one
	// becomes the recorder and opens the history at once: the job's start
	// waits for its settings, and a goroutine started to open it would
	// first wait for a thread to run on, about 0.15 ms here. The
	// supervisor sets the rest up beside the opening and runs the job; it
	// hands its run to the recorder on every path (recordEnd), so this
	// goroutine returns once the run is recorded, and troc once the
	// supervisor is done.
	e.rec = newRecording()
	supervised := make(chan error, 1)
	go func() {
		growStack()
		supervised <- e.supervise(ctx, sigs, sigsReady)
	}()
	growStack()
	e.recorder(ctx, e.rec)
	return <-supervised
}

// growStack grows the calling goroutine's stack to 32 KB in one step,
// while the stack is shallow. A goroutine starts with 2 KB and doubles it
// each time it runs out, copying the stack and looking up every frame on
// it. The recorder and the supervisor each need three or four doublings
// to 32 KB, and those that come deep inside SQLite or the fork (many
// frames, large functions whose tables are not yet read in from the
// binary) cost more than one copy of a shallow stack. Measured: 0.04 to
// 0.15 ms less of troc exec's median (the commit that added it says how).
//
//go:noinline
func growStack() byte {
	var frame [28 << 10]byte
	return firstByte(frame[:])
}

// firstByte reads b, so that the compiler keeps growStack's frame.
//
//go:noinline
func firstByte(b []byte) byte { return b[0] }

// supervise sets the run up while the recorder opens the history, waits
// for the job's settings, takes the lock, and runs and supervises the
// job (runJob), or records why it did not.
func (e *execution) supervise(ctx context.Context, sigs chan os.Signal, sigsReady chan struct{}) error {
	opts := e.opts
	e.logDir = e.privateLogDir()
	e.startSystemLog()
	// The job's settings shape its start (its shared lock, the wait for
	// it, the jitter, a pause): troc waits for them before it takes the
	// lock, but only so long (settingsWait).
	if sig := e.awaitSettings(sigs); sig != nil {
		return e.stopBeforeStart(ctx, sig.(syscall.Signal))
	}
	e.ctl = opts.control.over(e.settings.jobControl)
	e.run.LockName = e.ctl.LockName
	e.run.Environment = e.ctl.Env.String()
	defer e.unlock()
	if e.settings.pausedAt(time.Now()) && e.ctl.SkipWhenPaused {
		e.run.Status = StatusSkipped
		e.run.End = e.run.Start
		e.run.addNote("%s", e.settings.pauseNote())
		e.log.Info("Job " + opts.name + " is paused: run skipped")
		return e.recordEnd(ctx, e.ctl.skipStatus())
	}
	if d := e.ctl.jitterDelay(); d > 0 {
		<-sigsReady // a signal while troc sleeps is caught, not fatal
		e.run.Jitter = d
		e.log.Info(fmt.Sprintf("Sleeping %s before taking the lock (jitter)", d))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case sig := <-sigs:
			return e.stopWaiting(ctx, sig.(syscall.Signal), "sleeping before taking the lock")
		}
	}
	if e.ctl.LockWait > 0 {
		<-sigsReady
	}
	waitStart := nowMS()
	sig, lockErr := e.lock(sigs)
	skippedEnd := e.run.Start // a Skipped run lasts no time, or its wait
	if e.run.Jitter > 0 || e.ctl.LockWait > 0 {
		// The run starts when it has its lock; a Skipped one spans its wait.
		e.run.Start, skippedEnd = waitStart, nowMS()
		e.run.Waited = skippedEnd.Sub(waitStart)
		if lockErr == nil && sig == nil {
			e.run.Start = skippedEnd
		}
	}
	var prev *previousJob
	var held *heldError
	switch {
	case sig != nil:
		return e.stopWaiting(ctx, sig.(syscall.Signal), "waiting for the lock")
	case errors.As(lockErr, &held):
		e.run.Status, e.run.End = StatusSkipped, skippedEnd
		if held.shared == "" {
			e.run.addNote("%v", held)
			e.log.Info("Job " + opts.name + " is already running: run skipped")
		} else {
			e.log.Info("Job " + opts.name + ": " + held.Error() + ": run skipped")
			e.holder = held // the recorder names its run in the note
		}
		return e.recordEnd(ctx, e.ctl.skipStatus())
	case errors.As(lockErr, &prev):
		e.run.Status, e.run.End = StatusSkipped, skippedEnd
		e.run.addNote("%v", prev)
		e.log.Warn("Job " + opts.name + " is still running: " + prev.Error() + "; run skipped")
		return e.recordEnd(ctx, e.ctl.skipStatus())
	case lockErr != nil:
		e.log.Error("Cannot take the job's lock: " + lockErr.Error())
		return e.failSetup(ctx, "cannot take the job's lock: "+lockErr.Error())
	}
	return e.runJob(ctx, sigs, sigsReady)
}

// runJob runs the job, under its locks: it logs its output, supervises
// it, and records its end.
func (e *execution) runJob(ctx context.Context, sigs chan os.Signal, sigsReady chan struct{}) error {
	if e.run.Attempt == 0 && e.ctl.Retries > 0 {
		e.run.Attempt = 1
	}
	logFile := e.createRunLog()
	capture, err := newCapture(logFile, e.run.LogFile, e.opts.tee, e.opts.stderrFails, e.a.stdout, e.a.stderr)
	if err != nil {
		return e.failSetup(ctx, err.Error())
	}
	// A signal that came while troc was setting up means the job should
	// not start at all. One that came before troc caught it has had its
	// default effect: troc is gone, and nothing started.
	e.awaitSystemLog()
	<-sigsReady
	select {
	case sig := <-sigs:
		capture.close()
		return e.stopBeforeStart(ctx, sig.(syscall.Signal))
	default:
	}
	if err := markStarting(e.locks, capture.stdout(), e.opts.name); err != nil {
		e.log.Warn("Cannot mark the job's start in its lock file: " + err.Error() + "; if troc dies as the job starts, the next run will not wait for it")
	}
	pid, pidfd, err := e.opts.start(&e.ctl.Env, e.a.stdin, capture.stdout(), capture.stderr())
	started := time.Now()
	if err != nil {
		markLocks(e.locks, 0, 0, e.opts.name) // no job started: none to look for
	}
	var setup *errSetup
	switch {
	case errors.As(err, &setup):
		capture.close()
		e.log.Error("Cannot set the job up: " + err.Error())
		return e.failSetup(ctx, err.Error())
	case err != nil:
		capture.close()
		return e.failStart(ctx, err)
	}
	capture.start()
	e.run.PID = pid
	e.run.PIDStart, _ = procStartTime(pid)
	e.run.Status = StatusRunning
	if err := markLocks(e.locks, pid, e.run.PIDStart, e.opts.name); err != nil {
		e.log.Warn("Cannot write the job's pid into its lock file: " + err.Error() + "; if troc dies, the next run will not wait for this job")
	}

	// From here the job is supervised by this goroutine alone; the history
	// is the recorder's business.
	e.rec.runs <- e.run
	st := e.wait(pid, pidfd, sigs, started)
	e.run.End = nowMS()
	var note string
	e.run.OutputBytes, note = capture.finish()
	e.lostEnd = capture.lostEnd()
	e.stderrBytes = capture.stderrBytes()
	if note != "" {
		e.run.addNote("%s", note)
		e.log.Warn("Log incomplete: " + note)
	}
	e.settle(st)
	if err := e.diag.fileError(); err != nil {
		e.run.addNote("system log incomplete: %v", err)
	}
	switch again, stopped := e.retryAfter(ctx, sigs); {
	case stopped != nil:
		return stopped
	case again:
		return e.runJob(ctx, sigs, sigsReady)
	}
	return e.recordEnd(ctx, e.exitCode(st))
}

// start starts the job in a process group of its own, in env (the run's
// environment flags over the job's settings), and returns its pid.
//
// It uses syscall.ForkExec rather than os/exec: troc needs nothing of
// exec.Cmd but the fork, and os/exec's first start forks a throwaway child
// to probe for pidfd support, a cost paid on every troc exec.
func (o *execOptions) start(env *execEnv, stdin io.Reader, stdout, stderr *os.File) (pid, pidfd int, err error) {
	if err := env.checkDir(); err != nil {
		return 0, -1, err
	}
	if env.EnvFile != "" && !env.read {
		// The job's setting: found only as the run is set up, so a file
		// that cannot be read makes a run that could not be.
		if err := env.readVars(); err != nil {
			return 0, -1, &errSetup{err}
		}
	}
	path, argv := "/bin/sh", []string{"/bin/sh", "-c", o.command}
	if o.argv != nil {
		prog := o.argv[0]
		if env.Cwd != "" && strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
			prog = filepath.Join(env.Cwd, prog) // as the job, in its directory, would find it
		}
		var err error
		if path, err = exec.LookPath(prog); err != nil {
			return 0, -1, err
		}
		argv = o.argv
	}
	// A job in a process group of its own that reads from a terminal would
	// be stopped (SIGTTIN) and hang: on a terminal it reads /dev/null.
	in, ok := stdin.(*os.File)
	if !ok || isTerminal(in) {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return 0, -1, err
		}
		defer null.Close()
		in = null
	}
	attr := &syscall.ProcAttr{
		// TROC_NOTIFY_SLACK_TOKEN is troc's, not the job's; the env file's
		// variables are the job's.
		Env:   overEnv(withoutSecrets(os.Environ()), env.vars),
		Dir:   env.Cwd,
		Files: []uintptr{in.Fd(), stdout.Fd(), stderr.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	fork := syscall.ForkExec
	if env.changesThread() {
		fork = env.forkChanged
	}
	pid, pidfd, err = forkWithPidfd(fork, path, argv, attr)
	var setup *errSetup
	if errors.As(err, &setup) {
		return 0, -1, err
	}
	if err != nil {
		return 0, -1, &os.PathError{Op: "exec", Path: path, Err: err}
	}
	return pid, pidfd, nil
}

// forkWithPidfd forks and executes the job with fork, asking for its
// pidfd (-1 if the kernel gives none), which lets waitExited wait without
// a thread of its own. Where the fork fails with the pidfd asked for, it
// tries once more without: a sandbox or an emulated kernel may refuse
// clone(CLONE_PIDFD) (Go's os package probes for that), and the job must
// start all the same. A job that cannot start (or whose thread cannot be
// changed, forkChanged) fails twice alike, with nothing run.
func forkWithPidfd(fork func(string, []string, *syscall.ProcAttr) (int, error), path string, argv []string, attr *syscall.ProcAttr) (pid, pidfd int, err error) {
	pidfd = -1
	attr.Sys.PidFD = &pidfd
	if pid, err = fork(path, argv, attr); err != nil {
		attr.Sys.PidFD, pidfd = nil, -1
		pid, err = fork(path, argv, attr)
	}
	return pid, pidfd, err
}

// privateLogDir returns the log directory (dirs.go), or "" (and says why)
// when there is none to be had.
func (e *execution) privateLogDir() string {
	dir, warnings := e.cfg.logDir()
	e.fellBack(warnings)
	if dir == "" {
		e.log.Warn("No log directory can be used: the job runs without logs")
	}
	return dir
}

// fellBack says, on stderr and in the run's note, that a configured
// directory was not used.
func (e *execution) fellBack(warnings []string) {
	for _, w := range warnings {
		e.log.Warn(w)
		e.run.addNote("%s", w)
	}
}

// openSystemLog creates logdir/trocsys_JOB_STAMP_RAND.log, starts
// copying troc's own lines into it, and returns its path ("" when there
// is none).
//
// It runs in a goroutine of its own (startSystemLog), beside the rest of
// the set-up, and touches nothing of the run: creating a file is the
// most expensive step of the set-up on some file systems (0.8 ms in some
// directories of this machine's ext4, 0.01 ms in others), and the job's
// start need not wait for it until the fork (awaitSystemLog).
func (e *execution) openSystemLog(stamp string) string {
	if e.logDir == "" {
		return ""
	}
	f, path, err := createUnique(e.logDir, "trocsys_"+e.opts.name+"_"+stamp, ".log")
	if err != nil {
		e.log.Warn("Cannot create the system log: " + err.Error())
		return ""
	}
	e.diag.setFile(f)
	e.log.Info("Logging to " + path)
	return path
}

// startSystemLog starts openSystemLog in a goroutine of its own, for
// awaitSystemLog.
func (e *execution) startSystemLog() {
	done := make(chan string, 1)
	e.sysLog = done
	go func(stamp string) { done <- e.openSystemLog(stamp) }(stamp(e.run.Start))
}

// awaitSystemLog waits for openSystemLog and sets the run's system log,
// before the run is first handed to the recorder: before the fork, so
// that the job's supervision never waits on a file system, or as the run
// is recorded when no job starts.
func (e *execution) awaitSystemLog() {
	if e.sysLog != nil {
		e.run.SystemLogFile = <-e.sysLog
		e.sysLog = nil
	}
}

// createRunLog creates the run's log file, or returns nil (and says why)
// when it cannot: the job then runs with its output drained and dropped.
func (e *execution) createRunLog() *os.File {
	if e.logDir == "" {
		e.run.addNote("no log: log directory unusable")
		return nil
	}
	f, path, err := createUnique(e.logDir, e.opts.name+"."+stamp(e.run.Start), ".log")
	if err != nil {
		e.log.Warn("Cannot create the run's log: " + err.Error())
		e.run.addNote("no log: %v", err)
		return nil
	}
	e.run.LogFile = path
	e.log.Info("Run log created at: " + path)
	return f
}

// nowMS returns the time to the millisecond, as the history keeps it, so
// that what troc prints equals what it records.
func nowMS() time.Time { return time.Now().Truncate(time.Millisecond) }

// stamp formats t for file names: sortable, UTC, no colons.
func stamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// createUnique creates dir/prefix.RANDOM+suffix as a new private file.
func createUnique(dir, prefix, suffix string) (*os.File, string, error) {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	for try := 0; ; try++ {
		var b [6]byte
		for i := range b {
			b[i] = letters[rand.IntN(len(letters))]
		}
		path := filepath.Join(dir, prefix+"."+string(b[:])+suffix)
		f, err := createPrivate(path)
		if err == nil || !errors.Is(err, os.ErrExist) || try == 10 {
			return f, path, err
		}
	}
}

// failSetup records a run that could not be set up as Failed and exits 71.
func (e *execution) failSetup(ctx context.Context, why string) error {
	e.run.Status = StatusFailed
	e.run.End = nowMS()
	e.run.addNote("%s", why)
	return e.recordEnd(ctx, exitSetup)
}

// failStart records a job whose program could not be started as Failed,
// with the status a shell gives: 127 not found, 126 not executable.
func (e *execution) failStart(ctx context.Context, err error) error {
	code := exitNoExec
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		code = exitNotFound
	}
	e.log.Error("Cannot start the job: " + err.Error())
	e.run.Status = StatusFailed
	e.run.End = nowMS()
	e.run.ExitCode = &code
	e.run.addNote("cannot start: %v", err)
	return e.recordEnd(ctx, code)
}

// stopBeforeStart records a run that troc was told to stop before the job
// started: Terminated, with the signal, and troc exits as if the job had
// died of it.
func (e *execution) stopBeforeStart(ctx context.Context, sig syscall.Signal) error {
	e.log.Info(fmt.Sprintf("Received %s before the job started: not starting it", signalName(sig)))
	e.run.Status = StatusTerminated
	e.run.Signal = sig
	e.run.End = nowMS()
	e.run.addNote("troc received %s before the job started", signalName(sig))
	return e.recordEnd(ctx, 128+int(sig))
}

// jobEnd is how the job ended.
type jobEnd struct {
	status   syscall.WaitStatus
	received os.Signal // the first signal troc received and forwarded
	timedOut bool
	killed   bool // troc sent SIGKILL after the kill-after delay
	rusage   syscall.Rusage
}

// forwarded are the signals troc passes on to the job's process group.
// They are every signal that would otherwise end troc and leave the job
// running unsupervised, its lock free: the three that ask a program to
// stop, SIGQUIT (Ctrl-\, which would also dump troc's goroutines), and
// those the Go runtime treats as a crash when they come from kill(2).
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGABRT, syscall.SIGTRAP, syscall.SIGSYS, syscall.SIGSTKFLT,
	syscall.SIGILL, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV}

// watchSignals starts catching the signals troc forwards to the job, on
// sigs, and closes ready once it does. A signal that troc's parent set to
// be ignored (nohup's SIGHUP) stays ignored, for troc and so for the job,
// which inherits that disposition. (A real fault in troc itself is still
// a crash: Go catches only the signals that kill(2) sends.)
//
// The handlers are set up in a goroutine, beside the rest of troc's
// set-up: each Notify of a signal that would end troc costs a round trip
// to the runtime's signal thread. Until ready is closed such a signal
// ends troc as it would any program, which is harmless only because no
// job starts before then: the fork waits for ready.
func watchSignals() (sigs chan os.Signal, ready chan struct{}) {
	sigs, ready = make(chan os.Signal, 4), make(chan struct{})
	go func() {
		defer close(ready)
		for _, s := range forwarded {
			if !signal.Ignored(s) {
				signal.Notify(sigs, s)
			}
		}
		// A closed stdout must give troc EPIPE when it tees, not kill it.
		// So SIGPIPE is caught, not ignored: an ignored signal would stay
		// ignored in the job. (SIGXFSZ, for a log past `ulimit -f`, needs
		// nothing: the Go runtime already turns it into EFBIG. Each Notify
		// costs a round trip, so none is made for nothing.)
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	}()
	return sigs, ready
}

// wait waits for the job to exit, forwarding signals and enforcing the
// timeout (--timeout's, or else the job's own setting), and reaps it.
// When the job started without its settings (awaitSettings), they arrive
// on e.rec.job once the history answers: its timeout is enforced from
// then, counted from the job's start, and nothing else waits for it.
func (e *execution) wait(pid, pidfd int, sigs chan os.Signal, started time.Time) jobEnd {
	exited := make(chan struct{})
	go func() {
		waitExited(pid, pidfd)
		close(exited)
	}()
	var end jobEnd
	var timeoutC, killC <-chan time.Time
	var settings <-chan Job
	if e.settingsLate && !e.opts.timeoutSet {
		settings = e.rec.job
	}
	var timeout time.Duration
	setTimer := func(d time.Duration) {
		if timeout = d; d > 0 {
			timeoutC = time.NewTimer(time.Until(started.Add(d))).C
		}
	}
	if e.opts.timeoutSet {
		setTimer(e.opts.timeout)
	} else {
		setTimer(e.settings.Timeout) // none yet when they are late
	}
	startKillTimer := func() {
		if killC == nil {
			killC = time.After(e.opts.killAfter)
		}
	}
loop:
	for {
		select {
		case <-exited:
			break loop
		case job := <-settings:
			settings = nil
			e.settings.Timeout, e.settingsLate = job.Timeout, false // a retry's too
			setTimer(job.Timeout)
		case s := <-sigs:
			if end.received == nil && !end.timedOut {
				end.received = s
			}
			e.log.Info(fmt.Sprintf("Received %s: forwarding it to the job", signalName(s.(syscall.Signal))))
			syscall.Kill(-pid, s.(syscall.Signal))
			startKillTimer()
		case <-timeoutC:
			if end.received == nil {
				end.timedOut = true
			}
			e.log.Warn(fmt.Sprintf("Job ran past its timeout of %s: sending SIGTERM", timeout))
			syscall.Kill(-pid, syscall.SIGTERM)
			startKillTimer()
		case <-killC:
			end.killed = true
			e.log.Warn(fmt.Sprintf("Job still running %s after SIGTERM: sending SIGKILL", e.opts.killAfter))
			syscall.Kill(-pid, syscall.SIGKILL)
			killC = nil
		}
	}
	for {
		_, err := syscall.Wait4(pid, &end.status, 0, &end.rusage)
		if err != syscall.EINTR {
			break
		}
	}
	return end
}

// waitExited blocks until process pid has exited, without reaping it.
// Given the job's pidfd (-1 for none), it waits in the Go runtime's
// poller, to which a pidfd becomes readable when its process exits (Linux
// 5.3 on), and closes it. Blocked in waitid(2) instead, the goroutine
// would hold a thread of its own for the job's whole life, which the
// runtime starts and hands work between: 0.23 to 0.37 ms of a short
// job's troc exec (300 pairs in each order), against the poller's none.
func waitExited(pid, pidfd int) {
	if pidfd >= 0 && pollExited(pid, pidfd) {
		return
	}
	exitedNow(pid, 0) // blocks until it has
}

// pollExited waits in the poller for pidfd, process pid's, to say that
// the process exited, and closes pidfd. It reports false when the poller
// cannot wait for it (a kernel whose pidfds cannot be polled).
func pollExited(pid, pidfd int) bool {
	if err := syscall.SetNonblock(pidfd, true); err != nil {
		syscall.Close(pidfd)
		return false
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	return rc.Read(func(uintptr) bool { return exitedNow(pid, syscall.WNOHANG) }) == nil
}

// exitedNow waits for process pid to exit, without reaping it, and
// reports whether it has: with flags WNOHANG it only looks.
func exitedNow(pid, flags int) bool {
	const pPID = 1
	var info [32]int32 // siginfo_t, whose si_pid (info[4]) stays 0 while pid runs
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), uintptr(syscall.WEXITED|wNoWait|flags), 0, 0)
		if errno != syscall.EINTR {
			return errno != 0 || info[4] != 0
		}
	}
}

const wNoWait = 0x1000000 // WNOWAIT, which package syscall does not name

// settle sets the run's final status from how the job ended.
func (e *execution) settle(end jobEnd) {
	r := &e.run
	ws := end.status
	r.Usage = usageOf(&end.rusage)
	if ws.Signaled() {
		r.Signal = ws.Signal()
	} else {
		code := ws.ExitStatus()
		r.ExitCode = &code
	}
	switch {
	case end.timedOut:
		r.Status = StatusTimedOut
		r.addNote("timed out")
	case end.received != nil:
		// Signal stays what the job died of, if it did: a job that caught
		// the signal and exited has an exit code and no signal.
		r.Status = StatusTerminated
		r.addNote("troc received %s and forwarded it to the job", signalName(end.received.(syscall.Signal)))
	case ws.Signaled() && interruptSignal(ws.Signal()):
		r.Status = StatusTerminated
		r.addNote("killed by %s", signalName(ws.Signal()))
	case ws.Signaled():
		r.Status = StatusFailed
		r.addNote("died of %s", signalName(ws.Signal()))
	case ws.ExitStatus() == 0:
		r.Status = StatusSucceeded
	default:
		r.Status = StatusFailed
	}
	if end.killed {
		r.addNote("SIGKILL sent after %s", e.opts.killAfter)
	}
	if e.opts.stderrFails && e.stderrBytes > 0 {
		// A run that failed already stays what it was; one that
		// succeeded is Failed, and troc exits 1 though the job exited 0.
		if r.Status == StatusSucceeded {
			r.Status = StatusFailed
		}
		r.addNote("wrote to stderr")
	}
}

// interruptSignal reports whether a job killed by sig was stopped from
// outside (Terminated) rather than crashed (Failed).
func interruptSignal(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGTERM, syscall.SIGKILL, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}

// exitCode is troc exec's exit status for a job that ran.
func (e *execution) exitCode(end jobEnd) int {
	ws := end.status
	switch {
	case end.timedOut:
		return exitTimedOut
	case ws.Signaled():
		return 128 + int(ws.Signal())
	case ws.ExitStatus() == 0 && e.run.Status == StatusFailed: // --stderr-fails
		return exitError
	}
	return ws.ExitStatus()
}

// finish does what follows a run's end being recorded (in the history or
// the spool), on every path: it lets the next run in, tells people, keeps
// the history within its limits, rewrites the metrics, and prints the run.
// Only the first of those can delay the next run, and none can change
// what was recorded or troc's exit status.
func (e *execution) finish(ctx context.Context, code int) error {
	e.unlock()
	e.notifications(ctx).finish(ctx, e.db, &e.run, e.logTail())
	if e.db != nil {
		// Runs other trocs spooled, now that this one's is recorded. Never
		// before: a busy history must not delay a job's start or its end.
		replaySpool(ctx, e.db, e.spoolDirs(), e.lockHeld, e.log)
		applyRetention(ctx, e.db, e.cfg, e.job, e.run.End, e.log)
		writeMetricsFileFor(ctx, e.db, e.cfg, nil, time.Now(), e.log)
	}
	return e.report(code)
}

// unlock releases the job's locks, if troc holds them.
func (e *execution) unlock() {
	for _, f := range e.locks {
		f.Close()
	}
	e.locks = nil
}

// notifications returns the run's notifier, set up on first use once the
// job's own setting is known: nil (which sends nothing) unless --notify
// or the job asks for them, or a ping URL hears every run
// (notify.ping.every), which then pings alone. A channel configured
// wrongly is logged, and the job runs regardless.
func (e *execution) notifications(ctx context.Context) *runNotifier {
	if e.notifierMade {
		return e.notifier
	}
	e.notifierMade = true
	job := e.history(ctx)
	var err error
	switch {
	case job.pausedAt(time.Now()):
		// A paused job's runs tell nobody, not even the ping (jobpause.go).
	case e.opts.notify || job.Notify:
		e.notifier, err = newRunNotifier(e.cfg, job, e.log)
	case e.cfg.Notify.Ping != "" && e.cfg.Notify.PingEvery:
		e.notifier, err = newPingNotifier(e.cfg, job, e.log)
	}
	if err != nil {
		e.log.Warn("Notifications: " + err.Error())
	}
	return e.notifier
}

// report prints the run (or, quietly, a summary when it needs attention)
// and returns the exit status.
func (e *execution) report(code int) error {
	if !e.opts.quiet {
		e.run.writeJSON(e.a.stdout, e.loc)
		return exitStatus(code)
	}
	warned, lines := e.diag.quietReport()
	ok := e.run.Status == StatusSucceeded || e.run.Status == StatusSkipped
	if ok && !warned {
		return exitStatus(code)
	}
	w := bufio.NewWriter(e.a.stdout)
	defer w.Flush()
	what := string(e.run.Status)
	switch {
	case e.run.ExitCode != nil:
		what += fmt.Sprintf(" (exit %d)", *e.run.ExitCode)
	case e.run.Signal != 0:
		what += " (" + signalName(e.run.Signal) + ")"
	}
	id := "not recorded"
	if e.run.ID != 0 {
		id = strconv.FormatInt(e.run.ID, 10)
	}
	fmt.Fprintf(w, "troc: job %s on %s: %s, run %s, after %s\n", e.run.Job, e.run.Host, what, id,
		e.run.End.Sub(e.run.Start).Round(time.Millisecond))
	fmt.Fprintf(w, "command: %s\n", e.run.Command)
	if e.run.Note != "" {
		fmt.Fprintf(w, "note: %s\n", e.run.Note)
	}
	if e.run.Usage != nil {
		fmt.Fprintf(w, "resources: %s\n", e.run.Usage)
	}
	if warned {
		fmt.Fprintf(w, "\ntroc's own log:\n%s", lines)
	}
	switch {
	case e.lostEnd != nil:
		fmt.Fprintf(w, "\nlast lines of the output, which the log could not take:\n")
	case e.run.LogFile != "":
		fmt.Fprintf(w, "\nlast lines of %s:\n", e.run.LogFile)
	default:
		return exitStatus(code)
	}
	tail, _ := e.logTail()(20)
	if len(tail) == 0 {
		fmt.Fprintf(w, "(the log is empty)\n")
	}
	for _, line := range tail {
		fmt.Fprintf(w, "%s\n", line)
	}
	return exitStatus(code)
}

// logTail reads the end of the run's output for alerts and -q's summary:
// from the log, or from memory when a full disk kept it out of the log.
func (e *execution) logTail() func(maxLines int) (lines []string, earlier int) {
	if e.lostEnd == nil {
		return fileTail(e.run.LogFile)
	}
	return func(maxLines int) ([]string, int) {
		lines := strings.Split(strings.TrimSuffix(string(e.lostEnd), "\n"), "\n")
		earlier := max(len(lines)-maxLines, 0)
		return lines[earlier:], earlier
	}
}
