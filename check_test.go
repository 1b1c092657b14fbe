package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 7, 0, 0, time.UTC)
	created := now.Add(-30 * 24 * time.Hour)
	run := func(status Status, start time.Time) *Run { return &Run{Status: status, Start: start} }
	for _, tc := range []struct {
		name   string
		state  jobState
		want   Health
		due    time.Time
		reason string
	}{
		{
			name:  "no schedule, never ran",
			state: jobState{Job: Job{Created: created}},
			want:  HealthNew,
		},
		{
			name:  "no schedule, last run failed",
			state: jobState{Job: Job{Created: created}, LastRun: run(StatusFailed, now.Add(-time.Hour)), LastEnd: StatusFailed},
			want:  HealthFailing, reason: "its last run Failed",
		},
		{
			name:  "hourly, ran at the top of the hour",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *"}, LastRun: run(StatusSucceeded, now.Add(-7*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthOK,
		},
		{
			name:  "hourly, within the grace period of 12:00",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *", Grace: 10 * time.Minute}, LastRun: run(StatusSucceeded, now.Add(-67*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthOK,
		},
		{
			name:  "hourly, missed 12:00 past the default grace",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *"}, LastRun: run(StatusSucceeded, now.Add(-67*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthLate, due: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			reason: "no run since 2026-11-25T11:00:00Z; due at 2026-11-25T12:00:00Z",
		},
		{
			name:  "a run a few seconds early counts",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *"}, LastRun: run(StatusSucceeded, time.Date(2026, 11, 25, 11, 59, 50, 0, time.UTC)), LastEnd: StatusSucceeded},
			want:  HealthOK,
		},
		{
			name:  "skipped runs count as starting",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *"}, LastRun: run(StatusSkipped, now.Add(-7*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthOK,
		},
		{
			name:  "never ran, scheduled before the fire time",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *", ScheduleSet: now.Add(-2 * time.Hour)}},
			want:  HealthLate, due: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			reason: "never ran; due at 2026-11-25T12:00:00Z",
		},
		{
			name:  "never ran, scheduled since the last fire time",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *", ScheduleSet: now.Add(-6 * time.Minute)}},
			want:  HealthNew, reason: "never ran, not due yet",
		},
		{
			name:  "created after the fire time",
			state: jobState{Job: Job{Created: now.Add(-3 * time.Minute), Schedule: "0 * * * *"}},
			want:  HealthNew,
		},
		{
			name:  "late beats failing",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *"}, LastRun: run(StatusFailed, now.Add(-67*time.Minute)), LastEnd: StatusFailed},
			want:  HealthLate, due: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		},
		{
			name: "stuck beats late",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *", MaxRuntime: time.Hour},
				LastRun: run(StatusRunning, now.Add(-67*time.Minute)), RunningSince: now.Add(-67 * time.Minute), LastEnd: StatusSucceeded},
			want: HealthStuck,
		},
		{
			name: "running within its max runtime",
			state: jobState{Job: Job{Created: created, Schedule: "0 * * * *", MaxRuntime: time.Hour},
				LastRun: run(StatusRunning, now.Add(-7*time.Minute)), RunningSince: now.Add(-7 * time.Minute), LastEnd: StatusTimedOut},
			want: HealthFailing,
		},
		{
			name:  "@every counts from the last run",
			state: jobState{Job: Job{Created: created, Schedule: "@every 1h"}, LastRun: run(StatusSucceeded, now.Add(-64*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthOK,
		},
		{
			name:  "@every overdue past the grace",
			state: jobState{Job: Job{Created: created, Schedule: "@every 1h"}, LastRun: run(StatusSucceeded, now.Add(-66*time.Minute)), LastEnd: StatusSucceeded},
			want:  HealthLate,
		},
		{
			name:  "a schedule in another zone",
			state: jobState{Job: Job{Created: created, Schedule: "CRON_TZ=Asia/Tokyo 0 21 * * *"}, LastRun: run(StatusSucceeded, now.Add(-25*time.Hour)), LastEnd: StatusSucceeded},
			want:  HealthLate, due: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), // 21:00 in Tokyo
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.state.health(now)
			if rep.Health != tc.want {
				t.Errorf("health = %s (%s), want %s", rep.Health, rep.Reason, tc.want)
			}
			if !tc.due.IsZero() && !rep.Due.Equal(tc.due) {
				t.Errorf("due = %v, want %v", rep.Due, tc.due)
			}
			if tc.reason != "" && rep.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", rep.Reason, tc.reason)
			}
		})
	}
}

// checkOf runs troc check --json and returns each job's health.
func (s *sandbox) checkOf(wantCode int) map[string]checkJSON {
	s.t.Helper()
	var list []checkJSON
	jsonOf(s.t, s.mustTroc(wantCode, "check", "--json"), &list)
	out := map[string]checkJSON{}
	for _, c := range list {
		out[c.Job] = c
	}
	return out
}

func TestCheck(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "yearly", "--schedule", "0 0 1 1 *")
	s.mustTroc(0, "job", "add", "--name", "daily", "--schedule", "@daily")
	s.mustTroc(0, "exec", "-q", "--name", "daily", "true")
	s.mustTroc(0, "exec", "-q", "--name", "unscheduled", "true")
	if got := s.checkOf(0); len(got) != 3 || got["yearly"].Health != HealthNew || got["daily"].Health != HealthOK || got["unscheduled"].Health != HealthOK {
		t.Fatalf("check = %+v, want yearly new, daily ok and unscheduled ok", got)
	}

	// failing: its last run failed.
	s.mustTroc(0, "job", "update", "--name", "daily", "--max-runtime", "1s")
	s.mustTroc(1, "exec", "-q", "--name", "daily", "false")
	// late: every minute, scheduled two hours ago, never ran.
	s.mustTroc(0, "job", "add", "--name", "minutely", "--schedule", "* * * * *", "--grace", "1m")
	db := s.history()
	db.sql.Exec(`UPDATE jobs SET schedule_ms = schedule_ms - 7200000, created_ms = created_ms - 7200000 WHERE name = 'minutely'`)
	// stuck: running for longer than its max runtime.
	s.mustTroc(0, "job", "add", "--name", "slow", "--schedule", "@hourly", "--max-runtime", "100ms")
	s.startJob("slow", "sleep 30")
	var got map[string]checkJSON
	waitFor(t, "slow to be stuck", func() bool {
		got = s.checkOf(1)
		return got["slow"].Health == HealthStuck
	})
	var states []string
	for name, c := range got {
		states = append(states, name+":"+string(c.Health))
	}
	sort.Strings(states)
	if want := "daily:failing minutely:late slow:stuck unscheduled:ok yearly:new"; strings.Join(states, " ") != want {
		t.Errorf("check = %s, want %s", strings.Join(states, " "), want)
	}
	if c := got["minutely"]; c.DueTime == nil || c.Reason == nil || !strings.HasPrefix(*c.Reason, "never ran; due at ") || c.Schedule != "* * * * *" {
		t.Errorf("minutely = %+v, want schedule \"* * * * *\", a due time and a reason starting \"never ran; due at \"", c)
	}
	if c := got["daily"]; c.LastRun == nil || c.LastRun.Status != StatusFailed || c.NextRunTime == nil {
		t.Errorf("daily = %+v, want a Failed last run and a next run time", c)
	}

	// The table.
	res := s.mustTroc(1, "check")
	if !strings.HasPrefix(res.stdout, "JOB          HEALTH   SCHEDULE   LAST RUN") || !strings.Contains(res.stdout, "\nminutely     late     * * * * *  -  ") ||
		!strings.Contains(res.stdout, "\nunscheduled  ok       -          ") {
		t.Errorf("table:\n%s\nwant the header, a late minutely row and an ok unscheduled row", res.stdout)
	}

	// job list and show carry the same health.
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	compared := 0
	for _, j := range jobs {
		if c, ok := got[j.Name]; ok {
			compared++
			if j.Health != c.Health {
				t.Errorf("job list says %s is %s, check says %s", j.Name, j.Health, c.Health)
			}
		}
	}
	if compared != len(got) {
		t.Errorf("job list has %d of check's %d jobs", compared, len(got))
	}
	v := s.jobOf("slow")
	if v.Health != HealthStuck || v.Schedule == nil || *v.Schedule != "@hourly" || v.NextRunTime == nil || *v.MaxRuntimeMS != 100 {
		t.Errorf("job show slow = %+v, want stuck, @hourly, a next run time and max runtime 100ms", v.jobJSON)
	}

	s.refuses([]misuse{
		{"bad minute", []string{"job", "add", "--name", "x", "--schedule", "61 * * * *"}, 2, `--schedule: schedule "61 * * * *": minute field "61": 61 is out of range 0-59`},
		{"reboot", []string{"job", "add", "--name", "x", "--schedule", "@reboot"}, 2, "--schedule: schedule \"@reboot\""},
		{"bad grace", []string{"job", "update", "--name", "daily", "--grace", "later"}, 2, `--grace: invalid duration "later"`},
		{"argument", []string{"check", "extra"}, 2, `unexpected argument "extra"`},
	})
	// A schedule can be removed: the job is checked still, and is never
	// late, having no time to be late for.
	s.mustTroc(0, "job", "update", "--name", "yearly", "--schedule", "")
	if c := s.checkOf(1)["yearly"]; c.Health != HealthNew || c.Schedule != "" || c.NextRunTime != nil {
		t.Errorf("yearly without a schedule = %+v, want new, no schedule, no next run", c)
	}
}

// TestUnscheduledHealth: a job without a schedule has one health
// everywhere: troc check, job list, job show, the metrics and ui agree.
// It is failing when its last run failed and stuck past its max runtime,
// never late.
func TestUnscheduledHealth(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(1, "exec", "-q", "--name", "adhoc", "false")
	s.mustTroc(0, "job", "add", "--name", "slow", "--max-runtime", "100ms")
	s.startJob("slow", "sleep 30")
	s.mustTroc(0, "job", "add", "--name", "idle")
	want := map[string]Health{"adhoc": HealthFailing, "slow": HealthStuck, "idle": HealthNew}
	var checked map[string]checkJSON
	waitFor(t, "slow to be stuck", func() bool {
		checked = s.checkOf(1)
		return checked["slow"].Health == HealthStuck
	})
	var listed []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &listed)
	metrics := s.mustTroc(0, "metrics").stdout
	for name, h := range want {
		if got := checked[name].Health; got != h {
			t.Errorf("check: %s is %s, want %s", name, got, h)
		}
		if got := s.jobOf(name).Health; got != h {
			t.Errorf("job show: %s is %s, want %s", name, got, h)
		}
		i := slices.IndexFunc(listed, func(j jobJSON) bool { return j.Name == name })
		if i < 0 || listed[i].Health != h {
			t.Errorf("job list: %s is %+v, want %s", name, listed, h)
		}
		if sample := fmt.Sprintf(`troc_job_health{job=%q,user=%q,health=%q} 1`, name, currentUser(), h); !strings.Contains(metrics, sample) {
			t.Errorf("metrics lack %s:\n%s", sample, metrics)
		}
	}
}

// TestCheckNotify: troc check --notify announces each change of health
// once, however often it runs, and recoveries.
func TestCheckNotify(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	s.mustTroc(0, "job", "add", "--name", "daily", "--schedule", "@daily")
	s.mustTroc(1, "exec", "-q", "--name", "daily", "false")
	s.mustTroc(0, "job", "add", "--name", "fine", "--schedule", "@daily")
	s.mustTroc(0, "exec", "-q", "--name", "fine", "true")

	events := func() []string {
		t.Helper()
		var out []string
		for _, h := range rc.take() {
			var v struct {
				Event, Job, Text string
			}
			if err := json.Unmarshal(h.body, &v); err != nil {
				t.Fatalf("webhook body %q: %v", h.body, err)
			}
			out = append(out, v.Event+" "+v.Text)
		}
		return out
	}
	s.mustTroc(1, "check", "--notify")
	got := events()
	if len(got) != 1 || !strings.HasPrefix(got[0], "health daily@") || !strings.HasSuffix(got[0], ": failing: its last run Failed") {
		t.Errorf("first check sent %q, want one \"health daily@…: failing: its last run Failed\"", got)
	}
	for i := 0; i < 3; i++ {
		s.mustTroc(1, "check", "--notify")
	}
	if got := events(); len(got) != 0 {
		t.Errorf("repeated checks sent %q, want nothing", got)
	}
	s.mustTroc(0, "exec", "-q", "--name", "daily", "true")
	s.mustTroc(0, "check", "--notify")
	if got := events(); len(got) != 1 || !strings.HasSuffix(got[0], ": ok again (was failing)") {
		t.Errorf("after recovery: sent %q, want one ending \": ok again (was failing)\"", got)
	}
	s.mustTroc(0, "check", "--notify")
	if got := events(); len(got) != 0 {
		t.Errorf("after recovery, again: sent %q, want nothing", got)
	}
}

// TestCheckNotifyQuiet: under cron, check --notify says nothing on stderr
// when all is well with it, alerts sent included: what it sent goes to
// its system log. A problem (a channel that failed) still reaches stderr,
// and so cron's mail.
func TestCheckNotifyQuiet(t *testing.T) {
	var fail atomic.Bool
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if fail.Load() {
			http.Error(w, "no such hook", http.StatusNotFound)
		}
	})
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	s.mustTroc(1, "exec", "-q", "--name", "daily", "false")
	res := s.troc("check", "--notify")
	if res.code != 1 || res.stderr != "" || len(rc.take()) != 1 {
		t.Errorf("check --notify with an alert: exit %d, stderr %q; want 1, nothing on stderr, one alert", res.code, res.stderr)
	}
	sysLog := filepath.Join(s.tmp, "trocsys_check.log")
	if got := fileContent(t, sysLog); !strings.Contains(got, `level=INFO msg="Notification sent by webhook (health)"`) {
		t.Errorf("%s:\n%s\nwant the alert's line", sysLog, got)
	}
	if fi, err := os.Stat(sysLog); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", sysLog, fi.Mode(), err)
	}

	fail.Store(true)
	s.mustTroc(0, "exec", "-q", "--name", "daily", "true")
	res = s.troc("check", "--notify")
	if want := `level=WARN msg="Health notification by webhook failed: POST 127.0.0.1`; res.code != 0 || !strings.Contains(res.stderr, want) || strings.Contains(res.stderr, "level=INFO") {
		t.Errorf("check --notify with a failing channel: exit %d, stderr:\n%s\nwant 0 and %q, no INFO line", res.code, res.stderr, want)
	}
	if got := fileContent(t, sysLog); !strings.Contains(got, "level=WARN") {
		t.Errorf("%s lacks the warning:\n%s", sysLog, got)
	}
}

// TestCheckNotifyHistoryLocked: an alert sent while another connection
// holds the history's write lock is kept in the announced file beside the
// history, and the next check --notify, the lock released, knows what was
// announced: it says "ok again" when the job recovers, and records it.
func TestCheckNotifyHistoryLocked(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	s.mustTroc(1, "exec", "-q", "--name", "daily", "false")
	dbPath := filepath.Join(s.configDir(), "troc.db")
	announced := dbPath + "-announced.json"

	locker, err := openRaw(t, dbPath).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	if _, err := locker.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	res := s.troc("check", "--notify")
	if got := rc.take(); res.code != 1 || len(got) != 1 || !strings.Contains(string(got[0].body), "failing: its last run Failed") {
		t.Fatalf("check --notify with the history locked: exit %d, sent %d, stderr:\n%s\nwant exit 1 and one notice containing \"failing: its last run Failed\"", res.code, len(got), res.stderr)
	}
	if want := "Cannot record the health of daily in the history: "; !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "keeping it in "+announced) {
		t.Errorf("stderr:\n%s\nwant %q, keeping it in %s", res.stderr, want, announced)
	}
	var kept []announcedJSON
	if err := json.Unmarshal([]byte(fileContent(t, announced)), &kept); err != nil || len(kept) != 1 || kept[0].Job != "daily" || kept[0].Health != HealthFailing {
		t.Fatalf("%s holds %+v (%v), want daily failing", announced, kept, err)
	}
	if _, err := locker.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	// The next check knows what was said: nothing new to say while the
	// job still fails, and the announcement now goes into the history.
	if res := s.troc("check", "--notify"); res.code != 1 || res.stderr != "" || len(rc.take()) != 0 {
		t.Errorf("check --notify after: exit %d, stderr %q; want 1, no alert again", res.code, res.stderr)
	}
	if _, err := os.Stat(announced); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there (%v) once the history took it", announced, err)
	}
	s.mustTroc(0, "exec", "-q", "--name", "daily", "true")
	s.mustTroc(0, "check", "--notify")
	if got := rc.take(); len(got) != 1 || !strings.Contains(string(got[0].body), "ok again (was failing)") {
		t.Errorf("after the recovery, sent %d: want one ok again", len(got))
	}
	if states, err := s.history().jobStates(context.Background(), "daily", time.Time{}); err != nil || len(states) != 1 || states[0].Announced != HealthOK {
		t.Errorf("recorded health = %+v, %v; want ok", states, err)
	}
}
