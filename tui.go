package main

// troc ui: a full-screen dashboard of the jobs, a job's runs and a run's
// log, on the terminal it was started from. Rules:
//
//   - One goroutine owns the state and the screen. Another only passes on
//     what the terminal sends (keys); signals and timer ticks come in on
//     channels too.
//   - The shown data is read again every uiRefresh (one second): often
//     enough to watch runs start and end, and a read of a thousand jobs
//     with their health takes about 20 ms of one core (bench/ui.sh). The
//     database is opened once and queried afresh each time; each refresh
//     also marks orphaned runs, as every command that reads runs does.
//   - A log is followed by reading its file every uiLogPoll (100 ms), as
//     troc run watch does, reading the run's state before its output, so
//     that once the run is seen to end, the next read has all of it.
//   - A frame is a function of the state (tui_render.go); it is written in
//     one write, and only when it differs from the one on screen.
//   - However troc ui ends, the terminal is put back (term_linux.go).

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	uiRefresh = time.Second            // how often the data on screen is read again
	uiLogPoll = 100 * time.Millisecond // how often a followed log is read
	uiRuns    = 100                    // how many of a job's latest runs the runs view lists
	uiLogTail = 1 << 20                // how much of a log is read at most: its last MiB
)

// ui is a troc ui session: the history, the state, and the log the log
// view reads.
type ui struct {
	h         *history
	st        *uiState
	refreshed time.Time // when the data was last read
	logFile   *os.File  // the log view's log; nil in the other views
	logOff    int64     // how far it has been read
	buf       []byte
}

// uiCmd is troc ui.
func uiCmd(fs *flag.FlagSet) runFunc {
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		in, inFile := a.stdin.(*os.File)
		out, outFile := a.stdout.(*os.File)
		if !inFile || !outFile || !isTerminal(in) || !isTerminal(out) {
			return usagef("troc ui needs a terminal")
		}
		h, err := a.openHistory(ctx)
		if err != nil {
			return err
		}
		// From here on stderr is the screen, where log lines would land in the
		// middle of a frame. What they would say (a run marked Terminated as an
		// orphan) shows in the tables.
		h.log = slog.New(slog.DiscardHandler)
		u := &ui{h: h, st: newUIState(h.newDisplay(out), 80, 24), buf: make([]byte, 64<<10)}
		// A first read before the screen changes: if the history cannot be
		// read, the error is printed on the shell's screen, not a blank one.
		if err := u.refresh(ctx); err != nil {
			return err
		}
		// Signals are caught before the terminal changes: none may end troc
		// ui without the terminal put back.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
		defer signal.Stop(sigs)
		t, err := openTerminal(in, out)
		if err != nil {
			return err
		}
		defer t.restore()
		defer u.closeLog()
		return u.run(ctx, t, sigs)
	}
}

// run draws and handles keys, signals and ticks until troc ui is left.
func (u *ui) run(ctx context.Context, t *terminal, sigs <-chan os.Signal) error {
	keys, stop := make(chan []byte), make(chan struct{})
	go readKeys(int(t.in.Fd()), keys, stop)
	defer func() {
		close(stop)
		for range keys { // until the reader is done, before the terminal is restored
		}
	}()
	tick := time.NewTicker(uiLogPoll)
	defer tick.Stop()

	u.st.setSize(t.size())
	var frame, onScreen bytes.Buffer
	for {
		frame.Reset()
		u.st.render(&frame)
		if !bytes.Equal(frame.Bytes(), onScreen.Bytes()) {
			if _, err := t.out.Write(frame.Bytes()); err != nil {
				return fmt.Errorf("write to the terminal: %w", err)
			}
			frame, onScreen = onScreen, frame // no copy: the old buffer is the next frame's
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b, ok := <-keys:
			if !ok {
				return nil // the terminal is gone
			}
			for _, k := range parseKeys(b) {
				if u.key(ctx, k) == actQuit {
					return nil
				}
			}
		case sig := <-sigs:
			if sig != syscall.SIGWINCH {
				return exitStatus(128 + int(sig.(syscall.Signal)))
			}
			u.st.setSize(t.size())
			onScreen.Reset() // the terminal may have moved things: draw it all
		case <-tick.C:
			if time.Since(u.refreshed) >= uiRefresh {
				u.note(u.refresh(ctx))
			}
			if u.logFile != nil {
				u.note(u.readLog())
			}
		}
	}
}

// readKeys passes on what each read of the terminal returns (a key, an
// escape sequence, a paste) until stop is closed or the terminal is gone,
// then closes keys. A read returns within 100 ms (VTIME, see
// openTerminal), so readKeys is done soon after stop: once troc ui is
// done no read is left waiting, to take what is typed next at the shell.
func readKeys(fd int, keys chan<- []byte, stop <-chan struct{}) {
	defer close(keys)
	buf := make([]byte, 256)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := syscall.Read(fd, buf)
		switch {
		case err == syscall.EINTR || err == nil && n == 0:
			// Nothing typed. (A terminal that hung up reads as nothing
			// too, until its SIGHUP or the next frame's failed write ends
			// troc ui.)
			continue
		case err != nil:
			return
		}
		select {
		case keys <- bytes.Clone(buf[:n]):
		case <-stop:
			return
		}
	}
}

// key applies a key and carries out what it asks for.
func (u *ui) key(ctx context.Context, k key) uiAction {
	act := u.st.key(k)
	switch act {
	case actLoad:
		u.closeLog() // actLoad never leads to the log view, only out of it
		u.note(u.refresh(ctx))
	case actOpenLog:
		u.note(u.openLog(u.st.selectedRun()))
	case actAskKill:
		u.note(u.askKill(ctx, u.st.killTarget()))
	case actKill:
		r := u.st.confirm
		u.st.confirm = nil
		u.note(u.kill(r))
	}
	return act
}

// note shows err, if any, on the footer.
func (u *ui) note(err error) {
	if err != nil {
		u.st.message = err.Error()
	}
}

// refresh reads again what the view shows.
func (u *ui) refresh(ctx context.Context) error {
	u.refreshed = time.Now()
	h, st := u.h, u.st
	if err := h.markOrphans(ctx); err != nil {
		return fmt.Errorf("check for orphaned runs: %w", err)
	}
	now := h.now()
	switch st.view {
	case viewJobs:
		// No tallies: the dashboard does not show them.
		states, err := h.db.jobStates(ctx, "", time.Time{})
		if err != nil {
			return fmt.Errorf("read jobs: %w", err)
		}
		st.setJobs(states, now)
	case viewRuns:
		// The job too, for its health in the title.
		states, err := h.db.jobStates(ctx, st.job.Name, time.Time{})
		if err != nil {
			return fmt.Errorf("read jobs: %w", err)
		}
		var job *jobState
		if len(states) == 1 && states[0].ID == st.job.ID {
			job = states[0]
		}
		runs, err := h.db.listRuns(ctx, runFilter{JobID: st.job.ID, Limit: uiRuns})
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		st.setRuns(job, runs, now)
	case viewLog:
		r, err := h.db.getRun(ctx, st.log.run.ID)
		if err != nil {
			return err
		}
		st.setLogRun(r, now)
	}
	return nil
}

// openLog opens run r's log in the log view, or says why it cannot.
func (u *ui) openLog(r *Run) error {
	f, err := openRunLog(r)
	if err != nil {
		return err
	}
	u.closeLog()
	u.logFile, u.logOff = f, 0
	u.st.openLog(r)
	return u.readLog()
}

// closeLog closes the log view's log, if one is open.
func (u *ui) closeLog() {
	if u.logFile != nil {
		u.logFile.Close()
		u.logFile = nil
	}
}

// readLog reads what the log view's run has written since the last read,
// or only its last uiLogTail bytes when there is more: a log of
// gigabytes opens as fast as a small one.
func (u *ui) readLog() error {
	fi, err := u.logFile.Stat()
	if err != nil {
		return fmt.Errorf("read log of run %d: %w", u.st.log.run.ID, err)
	}
	size := fi.Size()
	if size-u.logOff > uiLogTail {
		u.logOff = size - uiLogTail
		u.st.log.skip()
	}
	for u.logOff < size {
		n, err := u.logFile.ReadAt(u.buf[:min(int64(len(u.buf)), size-u.logOff)], u.logOff)
		u.logOff += int64(n)
		u.st.appendLog(u.buf[:n])
		if errors.Is(err, io.EOF) {
			break // shorter than a moment ago: read again next time
		}
		if err != nil {
			return fmt.Errorf("read log of run %d: %w", u.st.log.run.ID, err)
		}
	}
	return nil
}

// askKill checks that run r can be signalled now, then has the footer ask
// whether to.
func (u *ui) askKill(ctx context.Context, r *Run) error {
	r, err := u.h.db.getRun(ctx, r.ID)
	if err != nil {
		return err
	}
	if err := checkSignalable(r); err != nil {
		return err
	}
	u.st.confirm = r
	return nil
}

// kill sends SIGTERM to run r's process group, as troc run kill does, and
// says so on the footer.
func (u *ui) kill(r *Run) error {
	if err := signalRun(r, syscall.SIGTERM); err != nil {
		return err
	}
	u.st.message = fmt.Sprintf("sent SIGTERM to run %d of %s (process group %d)", r.ID, r.Job, r.PID)
	return nil
}
