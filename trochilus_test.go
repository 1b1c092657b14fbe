package main

// End-to-end tests of what a user of the original troc brings along: its
// config file as it wrote it, its command line, and notifications of
// every run.

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// putOriginalConfig puts the original's config file of fixture version v
// in the sandbox, mode 0644 as the original wrote it, and returns its
// path. Its database path is the original user's; TROC_DATABASE points
// troc at the sandbox's instead, leaving the file as it is.
func (s *sandbox) putOriginalConfig(v string) string {
	s.t.Helper()
	if err := os.MkdirAll(s.configDir(), 0o700); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.configDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fileContent(s.t, "testdata/trochilus/"+v+"/config.yaml")), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.env = append(s.env, "TROC_DATABASE="+filepath.Join(s.configDir(), "troc.db"))
	return path
}

// slackOK is a loopback Slack API that takes every message.
func slackOK(t *testing.T) *receiver {
	return newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.1"}`)
	})
}

// TestOriginalConfig: the original's config file, readable by everyone
// and holding its Slack token, runs every job as it is; the token is
// not used until the file is chmod 600, and troc says so every time.
func TestOriginalConfig(t *testing.T) {
	for _, v := range []string{"0.2.0", "0.4.1"} {
		t.Run(v, func(t *testing.T) {
			s := newSandbox(t)
			slack := slackOK(t)
			s.env = append(s.env, "TROC_NOTIFY_SLACK_API_URL="+slack.URL+"/api")
			path := s.putOriginalConfig(v)
			s.putHistory("testdata/trochilus/" + v + "/troc.db")
			before := fileContent(t, path)

			res := s.troc("exec", "--name", "nightly-backup", "--notify", "echo saved")
			run := res.run(t)
			if res.code != 0 || run.Status != StatusSucceeded || run.ID == nil || *run.ID != 8 {
				t.Fatalf("exit %d, run %v %s; want 0 and run 8 Succeeded\nstderr: %s", res.code, deref(run.ID), run.Status, res.stderr)
			}
			// Its lockdir and logdir, /tmp, are everyone's: the default
			// ($TMPDIR, the sandbox's) is used.
			if !strings.HasPrefix(deref(run.LogFile), s.tmp+"/") {
				t.Errorf("log file %s, want it in %s", deref(run.LogFile), s.tmp)
			}
			if fileContent(t, path) != before {
				t.Errorf("troc rewrote the original's config file")
			}
			if v == "0.2.0" {
				return // no token: nothing more to see
			}
			const why = "notify.slack.token not used: config.yaml is readable by others; chmod 600 it"
			if !strings.Contains(deref(run.Note), why) {
				t.Errorf("note %q, want it to say %q", deref(run.Note), why)
			}
			if !strings.Contains(res.stderr, "is readable by others: notify.slack.token not used; chmod 600 "+path) {
				t.Errorf("stderr does not say the token was not used:\n%s", res.stderr)
			}
			if strings.Contains(res.stderr+res.stdout, "xoxb-fixture") {
				t.Errorf("the token is shown:\n%s%s", res.stdout, res.stderr)
			}
			if hits := slack.take(); len(hits) != 0 {
				t.Errorf("%d posts to Slack with a token troc did not use", len(hits))
			}
			res = s.troc("notify", "test")
			if res.code != exitError || res.stdout != "slack: failed: "+why+"\n" {
				t.Errorf("notify test: exit %d, stdout %q; want 1 and slack: failed: %s", res.code, res.stdout, why)
			}

			// chmod 600: the token is used, and every result is posted,
			// a success too (as the original did), tagged only as
			// notify.status says.
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				command, want string
			}{
				{"true", "nightly-backup@vm: run 9 - ✅: Succeeded"},
				{"exit 3", "<!channel> nightly-backup@vm: run 10 - ❌: Failed (exit 3)"},
			} {
				res = s.troc("exec", "--name", "nightly-backup", "--notify", tc.command)
				if strings.Contains(res.stderr, "not used") {
					t.Errorf("still not used after chmod 600:\n%s", res.stderr)
				}
				hits := slack.take()
				var msg slackMessage
				if len(hits) != 1 || json.Unmarshal(hits[0].body, &msg) != nil || msg.Channel != "#ops" ||
					!strings.HasPrefix(msg.Text, tc.want) || hits[0].header.Get("Authorization") != "Bearer xoxb-fixture-not-a-real-token" {
					t.Errorf("%q: Slack got %d posts (%+v), want one to #ops starting %q", tc.command, len(hits), msg, tc.want)
				}
			}
		})
	}
}

// TestOriginalColors: the original's booleans as colours, shown on a
// terminal (the table's own test of escape codes is in display_test.go).
func TestOriginalColors(t *testing.T) {
	c, err := readConfig(writeConfig(t, fileContent(t, "testdata/trochilus/0.4.1/config.yaml"), 0o600), testEnv(goldenEnv))
	if err != nil {
		t.Fatal(err)
	}
	d := display{color: true, cfg: c.Display}
	if got := d.status(StatusFailed).color; got != "" {
		t.Errorf("failed: false shows colour %q, want none", got)
	}
	c, err = readConfig(writeConfig(t, "display:\n    color:\n        status:\n            failed: true\n", 0o600), testEnv(goldenEnv))
	if err != nil {
		t.Fatal(err)
	}
	d = display{color: true, cfg: c.Display}
	if got, want := d.status(StatusFailed).color, "31"; got != want {
		t.Errorf("failed: true shows colour %q, want red's %q", got, want)
	}
}

// TestOriginalCommandLine: the original's spellings of the flags.
func TestOriginalCommandLine(t *testing.T) {
	s := newSandbox(t)
	s.putHistory("testdata/trochilus/0.4.1/troc.db")

	var shown runShowJSON
	jsonOf(t, s.mustTroc(0, "run", "show", "--run-id", "3"), &shown)
	if deref(shown.ID) != 3 || shown.Job != "daily-report" {
		t.Errorf("run show --run-id 3: run %d of %s, want run 3 of daily-report", deref(shown.ID), shown.Job)
	}
	// The original's log files are not in the sandbox: the id was read.
	if res := s.troc("run", "log", "--run-id=4"); res.code != exitError || !strings.Contains(res.stderr, "troc: log of run 4 is gone") {
		t.Errorf("run log --run-id=4: exit, stderr = %d, %q; want %d, it to contain %q", res.code, res.stderr, exitError, "troc: log of run 4 is gone")
	}

	s.mustTroc(0, "job", "update", "--name", "daily-report", "--new-name", "report")
	jsonOf(t, s.mustTroc(0, "run", "show", "-r", "3"), &shown)
	if shown.Job != "report" {
		t.Errorf("after --new-name, run 3 is of %s, want report", shown.Job)
	}

	var asJSON, asFormat []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &asJSON)
	jsonOf(t, s.mustTroc(0, "run", "list", "-f", "json"), &asFormat)
	if len(asJSON) != 7 || len(asFormat) != len(asJSON) {
		t.Errorf("--json gave %d runs, -f json %d; want 7 each", len(asJSON), len(asFormat))
	}

	records, err := csv.NewReader(strings.NewReader(s.mustTroc(0, "run", "list", "--format", "csv").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 8 || strings.Join(records[0], ",") != "ID,JOB,STATUS,START,DURATION,EXIT" ||
		strings.Join(records[7][:3], ",") != "1,nightly-backup,Succeeded" {
		t.Errorf("csv = %q, want 8 records: the header ID,JOB,STATUS,START,DURATION,EXIT, the last starting 1,nightly-backup,Succeeded", records)
	}
	lines := strings.Split(strings.TrimSuffix(s.mustTroc(0, "job", "list", "-f", "tsv").stdout, "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "JOB\tHEALTH\tLAST RUN\t") || !strings.HasPrefix(lines[1], "crashy\t") {
		t.Errorf("tsv = %q, want 6 lines: a header starting %q, then crashy", lines, "JOB\tHEALTH\tLAST RUN\t")
	}

	s.refuses([]misuse{
		{"unknown format", []string{"run", "list", "-f", "html"}, exitUsage, `invalid --format "html": want pretty, json, csv or tsv`},
		{"job list format", []string{"job", "list", "--format", "yaml"}, exitUsage, `invalid --format "yaml"`},
		{"both ids", []string{"run", "show", "--run-id", "3", "4"}, exitUsage, "give one run id"},
	})
}

// TestDelimitedQuoting: CSV quotes as RFC 4180 says; TSV escapes what
// would break a line or a column.
func TestDelimitedQuoting(t *testing.T) {
	header := []string{"A", "B"}
	rows := [][]cell{{{text: `say "hi", then`}, {text: "two\nlines"}}, {{text: "tab\there"}, {text: `back\slash`}}}
	tests := []struct {
		format outputFormat
		want   string
	}{
		{formatCSV, "A,B\n\"say \"\"hi\"\", then\",\"two\nlines\"\ntab\there,back\\slash\n"},
		{formatTSV, "A\tB\nsay \"hi\", then\ttwo\\nlines\ntab\\there\tback\\\\slash\n"},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			var b strings.Builder
			if err := (display{}).forFormat(tc.format).writeTable(&b, header, rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}
