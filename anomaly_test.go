package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDurationAnomaly(t *testing.T) {
	runs := func(ds ...time.Duration) []recentRun {
		out := make([]recentRun, len(ds))
		for i, d := range ds {
			out[i] = recentRun{ID: int64(i + 1), Duration: d}
		}
		return out
	}
	m := time.Minute
	usual := runs(48*m, 50*m, 47*m, 49*m, 48*m)
	for _, tc := range []struct {
		name     string
		last     time.Duration
		before   []recentRun
		min, max time.Duration
		want     string
	}{
		{"usual", 45 * m, usual, 0, 0, ""},
		{"much shorter", 12 * time.Second, usual, 0, 0, "run 9 ran 12.0s; its median is 48m00s"},
		{"much longer", 4 * time.Hour, usual, 0, 0, "run 9 ran 4h00m; its median is 48m00s"},
		{"a quarter is not under a quarter", 12 * m, usual, 0, 0, ""},
		{"too few runs for a median", 1 * time.Second, usual[:4], 0, 0, ""},
		{"a median under a second says nothing", 10 * time.Millisecond, runs(900*time.Millisecond, 800*time.Millisecond, 850*time.Millisecond, 900*time.Millisecond, 990*time.Millisecond), 0, 0, ""},
		{"--min-runtime from the first run", 20 * time.Second, nil, m, 0, "run 9 ran 20.0s, under its min runtime of 1m00s"},
		{"--min-runtime replaces the quarter", 5 * m, usual, 2 * m, 0, ""},
		{"--max-runtime", 61 * m, nil, 0, time.Hour, "run 9 ran 1h01m, over its max runtime of 1h00m"},
		{"--max-runtime replaces four times", 3 * time.Hour, usual, 0, 4 * time.Hour, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := durationAnomaly(recentRun{ID: 9, Duration: tc.last}, tc.before, tc.min, tc.max)
			if got != tc.want {
				t.Fatalf("durationAnomaly = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTooOften(t *testing.T) {
	hourly, _ := ParseSchedule("0 * * * *")
	every, _ := ParseSchedule("@every 30m")
	base := time.Date(2026, 11, 25, 0, 0, 5, 0, time.UTC)
	at := func(offsets ...time.Duration) []recentRun {
		out := make([]recentRun, len(offsets))
		for i, o := range offsets {
			out[i] = recentRun{ID: int64(i + 1), Start: base.Add(o)}
		}
		return out
	}
	h, m := time.Hour, time.Minute
	for _, tc := range []struct {
		name  string
		sched *Schedule
		runs  []recentRun
		since time.Time
		want  bool
	}{
		{"on schedule", hourly, at(0, h, 2*h, 3*h, 4*h), time.Time{}, false},
		{"one run by hand", hourly, at(0, h, h+20*m, 2*h, 3*h), time.Time{}, false},
		{"a second crontab line", hourly, at(0, 1, h, h+1, 2*h), time.Time{}, true},
		{"every minute of an hour", hourly, at(0, m, 2*m, 3*m), time.Time{}, true},
		{"early starts before the schedule was set", hourly, at(0, m, 2*m, 3*m), base.Add(2*m + time.Second), false},
		{"@every", every, at(0, 30*m, 60*m, 90*m), time.Time{}, false},
		{"@every too often", every, at(0, 10*m, 20*m), time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tooOften(tc.runs, tc.sched, tc.since)
			if (got != "") != tc.want {
				t.Fatalf("tooOften = %q, want suspect: %v", got, tc.want)
			}
		})
	}
}

// TestRecentSummary: the recent runs a job's row keeps are its latest
// 20 finished runs and 21 successful ones, a late real end replacing a
// presumed one; and the run_insights migration computes the same from
// the runs.
func TestRecentSummary(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var last *Run
	for i := 0; i < 30; i++ {
		status := StatusSucceeded
		if i%3 == 0 {
			status = StatusFailed
		}
		last = addRun(t, db, "j", status, start.Add(time.Duration(i)*time.Hour))
	}
	running := addRun(t, db, "j", StatusRunning, start.Add(40*time.Hour))
	if err := db.terminateRun(ctx, running.ID, running.Start.Add(time.Minute), "gone"); err != nil {
		t.Fatal(err)
	}
	running.Status, running.End, running.OutputBytes = StatusSucceeded, running.Start.Add(2*time.Minute), 9
	if err := db.finishRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	var recent, recentOK string
	if err := db.sql.QueryRow(`SELECT recent, recent_ok FROM jobs WHERE name = 'j'`).Scan(&recent, &recentOK); err != nil {
		t.Fatal(err)
	}
	all, ok := parseRecent(recent), parseRecent(recentOK)
	if len(all) != recentRuns || len(ok) != recentSuccesses {
		t.Fatalf("%d recent and %d successful runs, want %d and %d", len(all), len(ok), recentRuns, recentSuccesses)
	}
	if r := all[len(all)-1]; r.ID != running.ID || r.Status != StatusSucceeded || r.Duration != 2*time.Minute || r.Output != 9 {
		t.Fatalf("newest recent run = %+v, want run %d Succeeded after 2m with 9 bytes", r, running.ID)
	}
	if r := all[len(all)-2]; r.ID != last.ID || r.Status != StatusSucceeded || r.Duration != 1500*time.Millisecond {
		t.Fatalf("second newest = %+v, want run %d", r, last.ID)
	}
	for _, r := range ok {
		if r.Status != StatusSucceeded {
			t.Fatalf("recent_ok holds %+v", r)
		}
	}

	// What the migration computes from the runs is what troc kept.
	names, err := fs.Glob(schemaFS, "schema/*_run_insights.sql")
	if err != nil || len(names) != 1 {
		t.Fatalf("run_insights migrations: %q, %v", names, err)
	}
	body, err := schemaFS.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	update := string(body[strings.Index(string(body), "UPDATE jobs SET"):])
	if _, err := db.sql.Exec(`UPDATE jobs SET recent = NULL, recent_ok = NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(update); err != nil {
		t.Fatal(err)
	}
	var migrated, migratedOK string
	if err := db.sql.QueryRow(`SELECT recent, recent_ok FROM jobs WHERE name = 'j'`).Scan(&migrated, &migratedOK); err != nil {
		t.Fatal(err)
	}
	if got, want := formatRecent(parseRecent(migrated)), recent; got != want {
		t.Errorf("migrated recent = %s\nwant %s", got, want)
	}
	if got, want := formatRecent(parseRecent(migratedOK)), recentOK; got != want {
		t.Errorf("migrated recent_ok = %s\nwant %s", got, want)
	}
}

// TestSuspectE2E: check, job list, job show and the metrics call a job
// suspect, and say why, for each anomaly; check exits 1; check --notify
// announces it when notify.on has suspect, and not otherwise.
func TestSuspectE2E(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")

	s.mustTroc(0, "job", "add", "--name", "quiet", "--expect-output")
	s.mustTroc(0, "exec", "-q", "--name", "quiet", "true")
	s.mustTroc(0, "job", "add", "--name", "quick", "--min-runtime", "10s")
	s.mustTroc(0, "exec", "-q", "--name", "quick", "echo done")
	s.mustTroc(0, "job", "add", "--name", "often", "--schedule", "@daily")
	for i := 0; i < 3; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "often", "echo again")
	}
	// A dump that usually takes 48 minutes and took 12 seconds, written
	// into the history as exec would have.
	db := s.history()
	start := time.Now().Add(-30 * 24 * time.Hour)
	for i := 0; i < 6; i++ {
		d := 48 * time.Minute
		if i == 5 {
			d = 12 * time.Second
		}
		code := 0
		r := &Run{Job: "dump", Status: StatusSucceeded, Start: start.Add(time.Duration(i) * 24 * time.Hour).Truncate(time.Millisecond),
			ExitCode: &code, Host: "h", Command: "mysqldump | gpg", OutputBytes: 10}
		r.End = r.Start.Add(d)
		if err := db.insertRun(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	s.mustTroc(0, "exec", "-q", "--name", "fine", "echo fine")

	want := map[string]string{
		"quiet": "wrote no output, and the job expects some",
		"quick": ", under its min runtime of 10.0s",
		"often": "started more often than its schedule allows: 2 of its last 4 starts came early",
		"dump":  "ran 12.0s; its median is 48m00s",
	}
	var checked []checkJSON
	res := s.mustTroc(1, "check", "--json")
	jsonOf(t, res, &checked)
	for _, c := range checked {
		switch why, bad := want[c.Job]; {
		case !bad && c.Health != HealthOK:
			t.Errorf("check: %s is %s (%s), want ok", c.Job, c.Health, deref(c.Reason))
		case bad && (c.Health != HealthSuspect || !strings.Contains(deref(c.Reason), why)):
			t.Errorf("check: %s is %s (%s), want suspect: ...%s", c.Job, c.Health, deref(c.Reason), why)
		}
	}
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	for _, j := range jobs {
		if why, bad := want[j.Name]; bad && (j.Health != HealthSuspect || !strings.Contains(deref(j.HealthReason), why)) {
			t.Errorf("job list: %s is %s (%s), want suspect", j.Name, j.Health, deref(j.HealthReason))
		}
	}
	if out := s.mustTroc(0, "job", "show", "--name", "dump").stdout; !strings.Contains(out, "health:        suspect: run 11 ran 12.0s; its median is 48m00s") {
		t.Errorf("job show:\n%s", out)
	}
	metrics := s.mustTroc(0, "metrics").stdout
	for _, want := range []string{`troc_job_health{job="dump",user="` + currentUser() + `",health="suspect"} 1`,
		`troc_job_suspect{job="dump",user="` + currentUser() + `",reason="short"} 1`,
		`troc_job_suspect{job="often",user="` + currentUser() + `",reason="too_often"} 1`,
		`troc_job_suspect{job="quiet",user="` + currentUser() + `",reason="no_output"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `troc_job_suspect{job="fine"`) {
		t.Errorf("metrics have troc_job_suspect for a job that is ok")
	}

	// notify.on has suspect by default; without it, nothing is announced.
	s.mustTroc(0, "job", "update", "--name", "quiet", "--notify-on", "failed")
	s.mustTroc(1, "check", "--notify")
	var announced []string
	for _, h := range rc.take() {
		var v struct{ Job, Text string }
		if err := json.Unmarshal(h.body, &v); err != nil {
			t.Fatal(err)
		}
		announced = append(announced, v.Job)
		if !strings.Contains(v.Text, ": suspect: ") {
			t.Errorf("alert %q does not say suspect", v.Text)
		}
	}
	if got := strings.Join(announced, " "); got != "dump often quick" {
		t.Errorf("announced %q, want dump often quick (not quiet: its notify-on lacks suspect)", got)
	}
}

// TestExecNotifiesSuspect: a run that succeeds but makes its job suspect
// says so in its notification, and notifies for it alone when the job's
// statuses have suspect but not succeeded.
func TestExecNotifiesSuspect(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	s.mustTroc(0, "job", "add", "--name", "quiet", "--expect-output", "--notify", "--notify-on", "failed,suspect")
	events := func() []string {
		var out []string
		for _, h := range rc.take() {
			var v struct{ Event, Text string }
			if err := json.Unmarshal(h.body, &v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v.Event+": "+v.Text)
		}
		return out
	}
	s.mustTroc(0, "exec", "-q", "--name", "quiet", "echo something")
	if got := events(); len(got) != 0 {
		t.Errorf("a run that is not suspect notified: %q", got)
	}
	s.mustTroc(0, "exec", "-q", "--name", "quiet", "true")
	if got := events(); len(got) != 1 || !strings.HasPrefix(got[0], "suspect: ") || !strings.Contains(got[0], "\nSuspect: run 2 wrote no output, and the job expects some") {
		t.Errorf("suspect run notified %q, want one suspect notice saying why", got)
	}
	s.mustTroc(0, "job", "update", "--name", "quiet", "--notify-on", "succeeded")
	s.mustTroc(0, "exec", "-q", "--name", "quiet", "true")
	if got := events(); len(got) != 1 || !strings.HasPrefix(got[0], "end: ") || !strings.Contains(got[0], "\nSuspect: run 3 wrote no output") {
		t.Errorf("suspect run notified %q, want its end notice saying suspect", got)
	}
}

// TestRecentInStartOrder: a run that reached the history late, from the
// spool, has a later id than runs that started after it; the summary
// keeps runs in the order they started, as it is written and as it is
// read.
func TestRecentInStartOrder(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 12, 1, 3, min, 0, 0, time.UTC) }
	list := []recentRun{{ID: 1, Status: StatusSucceeded, Start: at(0)}, {ID: 3, Status: StatusSucceeded, Start: at(20)}}
	late := recentRun{ID: 4, Status: StatusFailed, Start: at(10)}
	got := withRecent(list, late, false, recentRuns)
	if ids := []int64{got[0].ID, got[1].ID, got[2].ID}; len(got) != 3 || !slices.Equal(ids, []int64{1, 4, 3}) {
		t.Errorf("withRecent: ids %v, want [1 4 3], by start", ids)
	}
	read := parseRecent(formatRecent([]recentRun{list[0], list[1], late})) // as the migration writes it, by id
	if len(read) != 3 || read[1].ID != 4 {
		t.Errorf("parseRecent: %+v, want run 4 second, by start", read)
	}
	// Too late to be among the latest: it is not kept.
	if got := withRecent(list, recentRun{ID: 5, Start: at(0).Add(-time.Hour)}, false, 2); got[0].ID != 1 || got[1].ID != 3 {
		t.Errorf("keeping 2: %+v, want runs 1 and 3", got)
	}
}

// TestFinishStartedRun: a troc that recorded a run as Running ends it
// without reading it back (finishStarted), and still gets it right when
// another troc changed the job's summaries or the run meanwhile.
func TestFinishStartedRun(t *testing.T) {
	db := testDB(t)
	other, err := openDB(db.path, 0, slog.New(slog.DiscardHandler)) // another troc, on the same history
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	addRun(t, db, "j", StatusSucceeded, start)
	recentOf := func() []recentRun {
		t.Helper()
		var recent string
		if err := db.sql.QueryRow(`SELECT recent FROM jobs WHERE name = 'j'`).Scan(&recent); err != nil {
			t.Fatal(err)
		}
		return parseRecent(recent)
	}
	ids := func(runs []recentRun) []int64 {
		var out []int64
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}

	// As it started: the end is two UPDATEs, and the summaries follow.
	running := addRun(t, db, "j", StatusRunning, start.Add(time.Hour))
	if db.started.id != running.ID {
		t.Fatalf("started = %+v, want run %d", db.started, running.ID)
	}
	// The shortcut must apply when nothing changed, or it only costs: the
	// row guard holds, and the summaries kept are the row's.
	var recent, recentOK string
	if err := db.sql.QueryRow(`SELECT coalesce(recent, ''), coalesce(recent_ok, '') FROM jobs WHERE name = 'j'`).Scan(&recent, &recentOK); err != nil {
		t.Fatal(err)
	}
	if db.started.summary != [2]string{recent, recentOK} {
		t.Errorf("started summaries = %q, want the row's %q: the guard would always miss", db.started.summary, [2]string{recent, recentOK})
	}
	running.Status, running.End = StatusFailed, running.Start.Add(time.Minute)
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done, err := finishStarted(ctx, tx, db.started, running); !done || err != nil {
		t.Errorf("finishStarted = %v, %v on the run as this troc left it, want true", done, err)
	}
	tx.Rollback()
	if err := db.finishRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	if got := recentOf(); len(got) != 2 || got[1].ID != running.ID || got[1].Status != StatusFailed {
		t.Errorf("recent = %+v, want the first run and run %d Failed", got, running.ID)
	}

	// Another troc records a run of the same job while this one runs:
	// the end must not write over its summary.
	running = addRun(t, db, "j", StatusRunning, start.Add(2*time.Hour))
	replayed := &Run{Job: "j", Status: StatusSucceeded, Start: start.Add(90 * time.Minute), End: start.Add(91 * time.Minute),
		Host: "web1", Command: "backup.sh"}
	if err := other.insertRun(ctx, replayed); err != nil {
		t.Fatal(err)
	}
	running.Status, running.End = StatusSucceeded, running.Start.Add(time.Minute)
	if err := db.finishRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(recentOf()), []int64{1, 2, replayed.ID, running.ID}; !slices.Equal(got, want) {
		t.Errorf("recent runs = %v, want %v: the run another troc recorded meanwhile was lost", got, want)
	}

	// Another troc presumes the run's end meanwhile: the real end replaces
	// it, counted once.
	running = addRun(t, db, "j", StatusRunning, start.Add(3*time.Hour))
	if err := other.terminateRun(ctx, running.ID, running.Start.Add(time.Minute), "gone"); err != nil {
		t.Fatal(err)
	}
	running.Status, running.End = StatusSucceeded, running.Start.Add(2*time.Minute)
	if err := db.finishRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	got, err := db.getRun(ctx, running.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusSucceeded || got.Inferred {
		t.Errorf("run = %s (presumed %v), want its real end, Succeeded", got.Status, got.Inferred)
	}
	if r := recentOf(); r[len(r)-1].ID != running.ID || r[len(r)-1].Status != StatusSucceeded || len(r) != 5 {
		t.Errorf("recent = %+v, want 5 runs, the last run %d Succeeded", r, running.ID)
	}
	checkSummaries(t, db)
}
