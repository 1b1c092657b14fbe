package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// jobOf returns troc job show --json's output for name.
func (s *sandbox) jobOf(name string) jobShowJSON {
	s.t.Helper()
	var v jobShowJSON
	jsonOf(s.t, s.mustTroc(0, "job", "show", "--name", name, "--json"), &v)
	return v
}

func TestJobAddUpdate(t *testing.T) {
	s := newSandbox(t)
	res := s.mustTroc(0, "job", "add", "--name", "backup", "--timeout", "90m", "--notify", "--notify-log",
		"--notify-on", "failed,timedout", "--description", "nightly backup")
	if res.stdout != "job backup added\n" {
		t.Errorf("stdout = %q, want %q", res.stdout, "job backup added\n")
	}
	got, _ := json.Marshal(s.jobOf("backup").jobSettingsJSON)
	want := `{"name":"backup","description":"nightly backup","timeout_ms":5400000,"notify":true,"notify_log":true,"notify_on":["Failed","TimedOut"],"schedule":null,"grace_ms":null,"max_runtime_ms":null,"min_runtime_ms":null,"expect_output":false,` +
		`"lock":null,"lock_wait_ms":null,"skip_exit":null,"jitter_ms":null,"retry":null,"retry_delay_ms":null,` +
		`"skip_when_paused":false,"paused":false,"paused_time":null,"pause_until_time":null,"pause_reason":null,` +
		`"env_file":null,"cwd":null,"nice":null,"ionice":null,"umask":null}`
	if string(got) != want {
		t.Errorf("settings = %s, want %s", got, want)
	}
	// exec's --timeout wins over the job's.
	if res := s.troc("exec", "--name", "backup", "--timeout", "50ms", "sleep 5"); res.code != exitTimedOut {
		t.Errorf("exec's --timeout over the job's: exit = %d, want %d", res.code, exitTimedOut)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"timeout", []string{"--timeout", "2s"}, `"timeout_ms":2000`},
		{"no timeout", []string{"--timeout", "0"}, `"timeout_ms":null`},
		{"notify off", []string{"--notify=false"}, `"notify":false`},
		{"log off", []string{"--notify-log=false"}, `"notify_log":false`},
		{"notify-on none", []string{"--notify-on", "none"}, `"notify_on":[]`},
		{"notify-on default", []string{"--notify-on", "default"}, `"notify_on":null`},
		{"notify-on list", []string{"--notify-on", "Terminated"}, `"notify_on":["Terminated"]`},
		{"description", []string{"--description", ""}, `"description":""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.mustTroc(0, append([]string{"job", "update", "--name", "backup"}, tc.args...)...)
			got, _ := json.Marshal(s.jobOf("backup").jobSettingsJSON)
			if !strings.Contains(string(got), tc.want) {
				t.Errorf("settings = %s, want %s in them", got, tc.want)
			}
		})
	}

	before := s.dump()
	s.refuses([]misuse{
		{"add existing", []string{"job", "add", "--name", "backup"}, 1, `job "backup" already exists`},
		{"add bad name", []string{"job", "add", "--name", "a b"}, 2, `invalid job name "a b"`},
		{"add no name", []string{"job", "add"}, 2, "--name is required"},
		{"add bad timeout", []string{"job", "add", "--name", "x", "--timeout", "soon"}, 2, `--timeout: invalid duration "soon"`},
		{"add bad notify-on", []string{"job", "add", "--name", "x", "--notify-on", "failed,bad"}, 2, `invalid --notify-on: unknown status "bad"`},
		{"update unknown", []string{"job", "update", "--name", "nope", "--timeout", "1s"}, 1, `no job named "nope"`},
		{"update nothing", []string{"job", "update", "--name", "backup"}, 2, "nothing to change"},
		{"rename bad", []string{"job", "update", "--name", "backup", "--rename", "-x"}, 2, `--rename: invalid job name "-x"`},
		{"show unknown", []string{"job", "show", "--name", "nope"}, 1, `no job named "nope"`},
		{"rm unknown", []string{"job", "rm", "--name", "nope"}, 1, `no job named "nope"`},
		{"argument", []string{"job", "list", "extra"}, 2, `unexpected argument "extra"`},
	})
	if s.dump() != before {
		t.Error("a failed command changed the history")
	}
}

func TestJobRename(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "old", "echo one")
	s.mustTroc(1, "exec", "--name", "old", "exit 1")
	gate := filepath.Join(s.dir, "gate")
	job, _ := s.startJob("old", "while [ ! -e "+gate+" ]; do sleep 0.01; done")

	res := s.mustTroc(0, "job", "update", "--name", "old", "--rename", "new")
	if res.stdout != "job old renamed to new\njob new updated\n" {
		t.Errorf("stdout = %q, want %q", res.stdout, "job old renamed to new\njob new updated\n")
	}
	if res := s.troc("job", "show", "--name", "old"); res.code != 1 {
		t.Errorf("old name still there: exit = %d, want 1", res.code)
	}
	// The history follows the job.
	v := s.jobOf("new")
	if len(v.Runs) != 3 || v.Runs[2].Job != "new" || v.Runs30d != 3 || v.Failures30d != 1 {
		t.Errorf("renamed job: %d runs (%d, %d failed); want 3 (3, 1 failed), the last of new", len(v.Runs), v.Runs30d, v.Failures30d)
	}
	// The run in progress under the old name still blocks the new one...
	if res := s.troc("exec", "--name", "new", "true"); res.code != exitSkipped {
		t.Errorf("exec of the new name during the old run: exit %d, want %d", res.code, exitSkipped)
	}
	// ...while the old name is free for a new job.
	if res := s.troc("exec", "--name", "old", "true"); res.code != 0 {
		t.Errorf("exec of the old name: exit = %d, want 0\n%s", res.code, res.stderr)
	}
	os.WriteFile(gate, nil, 0o600)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if res := s.troc("exec", "--name", "new", "true"); res.code != 0 {
		t.Errorf("exec of the new name after the old run: exit = %d, want 0", res.code)
	}
	var names []string
	for _, r := range s.runs() {
		names = append(names, r.Job+":"+string(r.Status))
	}
	want := "new:Succeeded new:Failed new:Succeeded new:Skipped old:Succeeded new:Succeeded"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	if res := s.troc("job", "update", "--name", "old", "--rename", "new"); res.code != 1 || !strings.Contains(res.stderr, "a job of that name exists") {
		t.Errorf("rename onto a taken name: exit, stderr = %d, %q; want 1, it to contain %q", res.code, res.stderr, "a job of that name exists")
	}
}

func TestJobListShow(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "idle")
	s.mustTroc(0, "exec", "--name", "web", "true")
	s.mustTroc(2, "exec", "--name", "web", "exit 2")
	s.mustTroc(exitTimedOut, "exec", "--name", "web", "--timeout", "20ms", "sleep 5")
	for i := 0; i < 11; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "cron", "true")
	}

	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	type fig struct {
		name           string
		last           Status
		runs, failures int64
		hasLastSuccess bool
	}
	var got []fig
	for _, j := range jobs {
		f := fig{name: j.Name, runs: j.Runs30d, failures: j.Failures30d, hasLastSuccess: j.LastSuccess != nil}
		if j.LastRun != nil {
			f.last = j.LastRun.Status
		}
		got = append(got, f)
	}
	want := []fig{
		{name: "cron", last: StatusSucceeded, runs: 11, hasLastSuccess: true},
		{name: "idle"},
		{name: "web", last: StatusTimedOut, runs: 3, failures: 2, hasLastSuccess: true},
	}
	if len(got) != len(want) {
		t.Fatalf("jobs = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("job %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The last success is the end of the first web run.
	first := s.runs()[0]
	if *jobs[2].LastSuccess != first.End.In(time.Local).Format(timeLayout) {
		t.Errorf("last success = %s, want the end of run 1 (%s)", *jobs[2].LastSuccess, first.End)
	}

	// show: the same figures, and the last 10 runs, newest first.
	v := s.jobOf("cron")
	if v.Runs30d != 11 || len(v.Runs) != 10 || *v.Runs[0].ID != 14 || *v.Runs[9].ID != 5 {
		t.Errorf("job show: %d runs in 30 days, %d listed; want 11, and 10 listed from run 14 down to 5", v.Runs30d, len(v.Runs))
	}

	// The tables.
	res := s.mustTroc(0, "job", "list")
	if !regexp.MustCompile(`(?m)^JOB +HEALTH +LAST RUN +STARTED +LAST SUCCESS +NEXT +RUNS 30D +FAILED 30D +RECENT\n` +
		`cron +ok +✅ Succeeded +\S+ \S+ +\S+ \S+ +- +11 +0 +\.{11}\n` +
		`idle +new +- +- +- +- +0 +0 +-\n` +
		`web +failing +⏰ TimedOut +\S+ \S+ +\S+ \S+ +- +3 +2 +\.FT\n$`).MatchString(res.stdout) {
		t.Errorf("job list:\n%s\nwant a header and rows for cron (ok), idle (new), web (failing), with their recent runs", res.stdout)
	}
	res = s.mustTroc(0, "job", "show", "--name", "web")
	for _, want := range []string{"job:           web\n", "timeout:       none\n", "last 30 days:  3 runs, 2 failed\n", "ID  STATUS", "❌ Failed"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("job show lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestJobRm(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "doomed", "echo a")
	s.mustTroc(0, "exec", "--name", "doomed", "echo b")
	s.mustTroc(0, "exec", "--name", "kept", "echo c")
	s.mustTroc(0, "exec", "--name", "logs", "echo d")
	var files []string
	for _, r := range s.runs()[:2] {
		files = append(files, r.LogFile, r.SystemLogFile)
	}
	logsFiles := []string{s.runs()[3].LogFile, s.runs()[3].SystemLogFile}

	// Refused while a run is in progress.
	gate := filepath.Join(s.dir, "gate")
	job, _ := s.startJob("doomed", "while [ ! -e "+gate+" ]; do sleep 0.01; done")
	res := s.troc("job", "rm", "--name", "doomed")
	if res.code != 1 || !strings.Contains(res.stderr, "troc: job doomed has a run in progress (run 5): nothing deleted\ntroc: hint: wait for it to end, or stop it: troc run kill -r 5\n") {
		t.Errorf("rm during a run: exit, stderr = %d, %q; want 1, the run-in-progress error and its hint", res.code, res.stderr)
	}
	os.WriteFile(gate, nil, 0o600)
	job.Wait()
	files = append(files, s.runs()[4].LogFile, s.runs()[4].SystemLogFile)

	res = s.mustTroc(0, "job", "rm", "--name", "doomed")
	if !regexp.MustCompile(`^job doomed deleted with 3 runs; 6 files, [\d.]+ (B|KiB) freed\n$`).MatchString(res.stdout) {
		t.Errorf("stdout = %q, want \"job doomed deleted with 3 runs; 6 files, <size> freed\\n\"", res.stdout)
	}
	for _, f := range files {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", f, err)
		}
	}
	var names []string
	for _, r := range s.runs() {
		names = append(names, r.Job)
	}
	if got := strings.Join(names, " "); got != "kept logs" {
		t.Errorf("history = %s, want kept logs", got)
	}
	var tallies int
	err := s.history().sql.QueryRow(`SELECT count(*) FROM job_days WHERE job_id NOT IN (SELECT id FROM jobs)`).Scan(&tallies)
	if err != nil || tallies != 0 {
		t.Errorf("%d tallies of the deleted job remain (%v)", tallies, err)
	}

	// On a terminal, troc asks; "n" deletes nothing.
	master, slave := openPTY(t)
	cmd := s.command("job", "rm", "--name", "logs")
	cmd.Stdin = slave
	var stderr syncBuffer
	cmd.Stderr = &stderr
	master.WriteString("n\n")
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "Delete job logs, its runs and their log files? [y/N] troc: not confirmed; nothing deleted") {
		t.Errorf("rm answered n: %v\n%s\nwant exit 1 and the prompt answered \"troc: not confirmed; nothing deleted\"", err, stderr.String())
	}
	s.mustTroc(0, "job", "rm", "--name", "logs", "--keep-logs")
	for _, f := range logsFiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("--keep-logs: %v", err)
		}
	}
}
