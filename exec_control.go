package main

// The parts of troc exec that job control adds (jobcontrol.go): taking
// the locks with a wait, ending a wait at a signal, and retrying.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lock takes the job's lock in the lock directory (dirs.go), and the
// shared lock if the run has one, waiting for them up to the lock wait.
// There is always a lock directory to be had unless every candidate is
// unusable: troc never runs a job without its lock. A signal while troc
// waits ends the wait and is returned.
func (e *execution) lock(sigs <-chan os.Signal) (os.Signal, error) {
	dir, warnings := e.cfg.lockDir()
	e.fellBack(warnings)
	if dir == "" {
		return nil, errors.New("no lock directory can be used")
	}
	var err error
	var sig os.Signal
	e.locks, sig, err = takeLocks(dir, e.opts.name, e.ctl.LockName, e.ctl.LockWait, sigs, func(why error) {
		e.log.Info(fmt.Sprintf("Waiting up to %s for the lock: %v", e.ctl.LockWait, why))
	})
	return sig, err
}

// stopWaiting records a run that troc was told to stop while it waited
// to start it (the jitter, the lock): Skipped, with a note, and troc
// exits as if it had died of the signal.
func (e *execution) stopWaiting(ctx context.Context, sig syscall.Signal, what string) error {
	e.log.Info(fmt.Sprintf("Received %s while %s: not starting the job", signalName(sig), what))
	e.run.Status = StatusSkipped
	e.run.End = nowMS()
	e.run.addNote("troc received %s while %s", signalName(sig), what)
	return e.recordEnd(ctx, 128+int(sig))
}

// retryAfter decides, once an attempt has ended, whether troc runs the
// job again (--retry): only after a Failed or TimedOut attempt (a job
// stopped from outside stays stopped), and while retries are left. If so
// it records the attempt as retried, waits the retry delay, and sets the
// next attempt up, linked to the first; a signal during the delay is
// that next attempt's end, before it started (stopBeforeStart), and
// troc's too: retryAfter returns what exec returns then. The lock is held
// throughout.
func (e *execution) retryAfter(ctx context.Context, sigs chan os.Signal) (again bool, stopped error) {
	n := e.run.Attempt
	if n == 0 || n > e.ctl.Retries || e.run.Status != StatusFailed && e.run.Status != StatusTimedOut {
		return false, nil
	}
	delay := e.ctl.retryDelay(n)
	e.run.Retried = true
	e.run.addNote("retried")
	e.log.Info(fmt.Sprintf("Attempt %d of %d %s: trying again in %s", n, e.ctl.Retries+1, e.run.Status, delay))
	e.record()
	e.run = e.run.nextAttempt()
	e.spooled, e.lostEnd = "", nil
	e.rec = e.startRecording(ctx)
	t := time.NewTimer(delay)
	select {
	case <-t.C:
		e.run.Start = nowMS()
		return true, nil
	case sig := <-sigs:
		t.Stop()
		e.run.Start = nowMS()
		return false, e.stopBeforeStart(ctx, sig.(syscall.Signal))
	}
}

// settingsWait bounds the wait for the job's settings before the lock. A
// healthy history answers in a millisecond or two and a broken one at
// once, but one that stalls even a read (a process holding it in SQLite's
// exclusive locking mode, a failing disk) would hold the job back by the
// busy timeout or more, and the job never waits on the history. Past the
// bound the run goes on with its flags alone, and its note says so: what
// a job cannot do without (its shared lock, its environment) belongs on
// its command line too. Two seconds is a thousand times a healthy
// history's answer, and still enough for a hundred trocs starting at once
// on a loaded machine; a troc that makes the history itself does not wait
// at all (a new history has no settings: recorder).
const settingsWait = 2 * time.Second

// settingsSlow is when troc says that it is waiting for the settings.
const settingsSlow = 100 * time.Millisecond

// awaitSettings waits, at most settingsWait, for the job's settings from
// the recorder and keeps them in e.settings, or marks them late (wait
// then takes the job's timeout when it comes). A signal during the wait
// ends it and is returned.
//
// It does not wait for the signal handlers (watchSignals) to be ready:
// the lock, the run's log and its pipes are made while they are still
// being set up (their round trips take about as long as the history's
// opening), and only the fork waits for them (runJob). A signal that
// comes before they are ready ends troc, before any job has started, as
// it did when this waited for them; sigs delivers those that come after.
func (e *execution) awaitSettings(sigs <-chan os.Signal) os.Signal {
	select {
	case e.settings = <-e.rec.job:
		return nil
	default:
	}
	slow, limit := time.NewTimer(settingsSlow), time.NewTimer(settingsWait)
	defer slow.Stop()
	defer limit.Stop()
	for {
		select {
		case e.settings = <-e.rec.job:
			return nil
		case sig := <-sigs:
			return sig
		case <-slow.C:
			e.log.Info(fmt.Sprintf("The history is slow to answer: waiting up to %s for the job's settings", settingsWait))
		case <-limit.C:
			e.settings = Job{Name: e.opts.name}
			e.settingsLate = true
			e.run.addNote("started without the job's settings: the history did not answer within %s", settingsWait)
			e.log.Warn(fmt.Sprintf("The history did not answer within %s: running the job with its flags alone, without the job's settings", settingsWait))
			return nil
		}
	}
}
