package main

// Pausing a job: troc job pause and troc job resume. A paused job is not
// watched (troc check reports it paused, and alerts nothing), its runs'
// notifications are held back, and its runs are Skipped if the job says
// so (--skip-when-paused); otherwise troc exec runs it as ever, so that
// a pause never silently stops work that someone forgot to resume.

import (
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
