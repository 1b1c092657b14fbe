package main

import (
	"strings"
	"testing"
	"time"
)

// TestJobPause: a paused job is reported paused by check (exit 0, no
// alert), job list, job show and the metrics; its runs still run, but
// notify nobody, unless it skips them; resume and --for end the pause.
func TestJobPause(t *testing.T) {
	hook := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL+"/hook")
	s.mustTroc(0, "job", "add", "--name", "j", "--notify")
	s.mustTroc(1, "exec", "--name", "j", "exit 1")
	s.mustTroc(1, "check")
	hook.take()

	if res := s.mustTroc(0, "job", "pause", "--name", "j", "--reason", "disk swap"); res.stdout != "job j paused\n" {
		t.Errorf("stdout = %q", res.stdout)
	}
	var views []checkJSON
	jsonOf(t, s.mustTroc(0, "check", "--json"), &views)
	if len(views) != 1 || views[0].Health != HealthPaused || deref(views[0].Reason) != "paused: disk swap" {
		t.Errorf("check = %+v, want paused: disk swap", views)
	}
	s.mustTroc(0, "check", "--notify")
	if list := s.mustTroc(0, "job", "list").stdout; !strings.Contains(list, "paused") {
		t.Errorf("job list does not say paused:\n%s", list)
	}
	show := s.jobOf("j")
	if !show.Paused || deref(show.PauseReason) != "disk swap" || show.PausedTime == nil || show.PauseUntil != nil || show.Health != HealthPaused {
		t.Errorf("job show = %+v, want paused for disk swap, with no end", show.controlJSON)
	}
	if text := s.mustTroc(0, "job", "show", "--name", "j").stdout; !strings.Contains(text, "paused:        since ") || !strings.Contains(text, ": disk swap") {
		t.Errorf("job show does not say the pause:\n%s", text)
	}
	if m := s.mustTroc(0, "metrics").stdout; !strings.Contains(m, `troc_job_paused{job="j",user="`) {
		t.Errorf("metrics lack troc_job_paused:\n%s", m)
	}

	// Its runs run, and notify nobody.
	s.mustTroc(2, "exec", "--name", "j", "exit 2")
	s.mustTroc(0, "exec", "--name", "j", "true")
	if got := events(t, hook.take()); len(got) != 0 {
		t.Errorf("notices %q while paused, want none", got)
	}
	// Unless the job skips them.
	s.mustTroc(0, "job", "update", "--name", "j", "--skip-when-paused")
	res := s.troc("exec", "--name", "j", "true")
	if r := res.run(t); res.code != exitSkipped || r.Status != StatusSkipped || deref(r.Note) != "paused: disk swap" {
		t.Errorf("exit %d, status %s, note %q; want %d, Skipped, paused: disk swap", res.code, r.Status, deref(r.Note), exitSkipped)
	}

	if res := s.mustTroc(0, "job", "resume", "--name", "j"); res.stdout != "job j resumed\n" {
		t.Errorf("stdout = %q", res.stdout)
	}
	if res := s.mustTroc(0, "job", "resume", "--name", "j"); res.stdout != "job j was not paused\n" {
		t.Errorf("second resume: stdout = %q", res.stdout)
	}
	s.mustTroc(0, "exec", "--name", "j", "true")
	if got := events(t, hook.take()); len(got) != 1 {
		t.Errorf("notices %q after resume, want the run's", got)
	}
	if m := s.mustTroc(0, "metrics").stdout; !strings.Contains(m, "troc_job_paused{") || strings.Contains(m, `troc_job_paused{job="j",user="`+currentUser()+`"} 1`) {
		t.Errorf("metrics lack troc_job_paused 0 after resume")
	}

	// --for ends by itself.
	s.mustTroc(0, "job", "update", "--name", "j", "--skip-when-paused=false")
	// Long enough for a troc built with -race on a loaded machine to run
	// the job inside it.
	const pauseFor = 4 * time.Second
	paused := time.Now()
	s.mustTroc(0, "job", "pause", "--name", "j", "--for", pauseFor.String())
	s.mustTroc(3, "exec", "--name", "j", "exit 3")
	if got := events(t, hook.take()); len(got) != 0 && time.Since(paused) < pauseFor {
		t.Errorf("notices %q while paused, want none", got)
	}
	waitFor(t, "the pause to end", func() bool { return s.troc("check").code == 1 })
	s.mustTroc(1, "check", "--notify")
	if got := events(t, hook.take()); len(got) != 1 {
		t.Errorf("notices %q once the pause ended, want the failing job's alert", got)
	}

	s.refuses([]misuse{
		{name: "no job", args: []string{"job", "pause", "--name", "nope"}, code: exitError, want: `no job named "nope"`},
		{name: "bad for", args: []string{"job", "pause", "--name", "j", "--for", "soon"}, code: exitUsage, want: "--for: "},
		{name: "resume no job", args: []string{"job", "resume", "--name", "nope"}, code: exitError, want: `no job named "nope"`},
	})
}

// TestUIPaused: troc ui shows a paused job's health as paused.
func TestUIPaused(t *testing.T) {
	st := newUIState(testDisplay(false, true), 80, 24)
	job := Job{Name: "maint", Created: uiNow.Add(-time.Hour), Paused: uiNow.Add(-time.Minute), PauseReason: "disk swap"}
	st.setJobs([]*jobState{{Job: job, LastEnd: StatusFailed}}, uiNow)
	if lines := frameLines(t, st); !strings.Contains(lines[2], "maint") || !strings.Contains(lines[2], "paused") {
		t.Errorf("the job's row = %q, want it paused", lines[2])
	}
}

// TestJobPauseNoPing: a paused job's runs do not ping either, though the
// ping URL hears every run (notify.ping.every); resumed, they do again.
func TestJobPauseNoPing(t *testing.T) {
	ping := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_PING_URL="+ping.URL+"/uuid")
	s.mustTroc(0, "job", "add", "--name", "j")
	s.mustTroc(0, "job", "pause", "--name", "j")
	s.mustTroc(0, "exec", "--name", "j", "true")
	if got := ping.take(); len(got) != 0 {
		t.Errorf("%d pings while paused, want none", len(got))
	}
	s.mustTroc(0, "job", "resume", "--name", "j")
	s.mustTroc(0, "exec", "--name", "j", "true")
	if got := ping.take(); len(got) != 2 {
		t.Errorf("%d pings after resume, want start and end", len(got))
	}
}
