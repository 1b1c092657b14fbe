package main

// Pausing a job: troc job pause and troc job resume. A paused job is not
// watched (troc check reports it paused, and alerts nothing), its runs'
// notifications are held back, and its runs are Skipped if the job says
// so (--skip-when-paused); otherwise troc exec runs it as ever, so that
// a pause never silently stops work that someone forgot to resume.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// pausedAt reports whether the job is paused at now: paused, and the
// pause's end (if it has one) not reached.
func (j *Job) pausedAt(now time.Time) bool {
	return !j.Paused.IsZero() && (j.PauseUntil.IsZero() || now.Before(j.PauseUntil))
}

// pauseNote is the note of a run Skipped because its job is paused.
func (j *Job) pauseNote() string {
	if j.PauseReason == "" {
		return "paused"
	}
	return "paused: " + j.PauseReason
}

// pauseReason is the reason of a paused job's health, for troc check.
func (j *Job) pauseReason() string {
	s := "paused"
	if !j.PauseUntil.IsZero() {
		s += " until " + j.PauseUntil.Format(time.RFC3339)
	}
	if j.PauseReason != "" {
		s += ": " + j.PauseReason
	}
	return s
}

// pauseLine says since when, until when and why the job is paused, for
// troc job show.
func pauseLine(j *Job, d display) string {
	s := "since " + d.time(j.Paused)
	if !j.PauseUntil.IsZero() {
		s += ", until " + d.time(j.PauseUntil)
	}
	if j.PauseReason != "" {
		s += ": " + j.PauseReason
	}
	return s
}

// jobPauseCmd is troc job pause.
func jobPauseCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`")
	forText := fs.String("for", "", "end the pause by itself after `DURATION` (default: at troc job resume)")
	reason := fs.String("reason", "", "why, for people: troc check, job show and a Skipped run's note say it")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		var length time.Duration
		if *forText != "" {
			d, err := flagDuration("for", *forText)
			if err != nil {
				return err
			}
			if length = *d; length <= 0 {
				return usagef("--for: give a duration above 0, or leave it out to pause until troc job resume")
			}
		}
		h, err := a.openHistoryFor(ctx, *name, true)
		if err != nil {
			return err
		}
		now := h.now()
		var until time.Time
		if length > 0 {
			until = now.Add(length)
		}
		switch err := h.db.pauseJob(ctx, *name, now, until, strings.TrimSpace(*reason)); {
		case errors.Is(err, errJobNotFound):
			return noJob(*name)
		case err != nil:
			return fmt.Errorf("pause job: %w", err)
		}
		msg := "job " + *name + " paused"
		if !until.IsZero() {
			msg += " until " + h.newDisplay(a.stdout).time(until)
		}
		fmt.Fprintln(a.stdout, msg)
		return nil
	}
}

// jobResumeCmd is troc job resume.
func jobResumeCmd(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the job's `NAME`")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		h, err := a.openHistoryFor(ctx, *name, true)
		if err != nil {
			return err
		}
		job, err := h.findJob(ctx, *name)
		if err != nil {
			return err
		}
		if err := h.db.resumeJob(ctx, *name); err != nil {
			return fmt.Errorf("resume job: %w", err)
		}
		if !job.pausedAt(h.now()) {
			fmt.Fprintf(a.stdout, "job %s was not paused\n", *name)
			return nil
		}
		fmt.Fprintf(a.stdout, "job %s resumed\n", *name)
		return nil
	}
}
