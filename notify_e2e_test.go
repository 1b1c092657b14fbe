package main

// End-to-end tests of notifications through the real binary, against
// receivers on loopback.
//

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNotifyTestE2E(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	res := s.troc("notify", "test")
	if res.code != 0 || res.stdout != "webhook: ok\n" {
		t.Errorf("exit %d, stdout %q, want 0 and %q\nstderr: %s", res.code, res.stdout, "webhook: ok\n", res.stderr)
	}
	if got := events(t, rc.take()); !slices.Equal(got, []string{"test/0"}) {
		t.Errorf("notices %q, want [test/0]", got)
	}

	// --json: one object per channel, the error of one that failed.
	s.env = append(s.env, "TROC_NOTIFY_COMMAND=echo no >&2; exit 3")
	var views []notifyTestJSON
	res = s.troc("notify", "test", "--json")
	jsonOf(t, res, &views)
	if want := []notifyTestJSON{{Channel: "webhook", OK: true}, {Channel: "command", Error: ptr("exit status 3: no")}}; res.code != 1 || !reflect.DeepEqual(views, want) {
		t.Errorf("--json: exit %d, %+v; want 1 and %+v", res.code, views, want)
	}

	res = s.troc("notify", "test", "--channel", "pigeon")
	if res.code != exitUsage {
		t.Errorf("unknown channel: exit %d, want %d", res.code, exitUsage)
	}
}

// TestExecNotifyE2E: a failing job notifies through the webhook and the
// ping URL, and troc still exits with the job's status and prints the run.
func TestExecNotifyE2E(t *testing.T) {
	hook := newReceiver(t, nil)
	ping := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL+"/hook", "TROC_NOTIFY_PING_URL="+ping.URL+"/uuid")
	res := s.troc("exec", "--name", "backup", "--notify", "echo copying; exit 3")
	if res.code != 3 {
		t.Errorf("exit %d, want the job's 3\nstderr: %s", res.code, res.stderr)
	}
	run := res.run(t)
	if run.Status != StatusFailed || run.Note != nil {
		t.Errorf("run: status %s, note %v; want Failed and no note", run.Status, run.Note)
	}
	if got := events(t, hook.take()); !slices.Equal(got, []string{"failure/1"}) {
		t.Errorf("webhook notices %q, want [failure/1]", got)
	}
	var paths []string
	for _, h := range ping.take() {
		paths = append(paths, h.path)
	}
	if want := []string{"/uuid/start", "/uuid/3"}; !slices.Equal(paths, want) {
		t.Errorf("pings %q, want %q", paths, want)
	}

	// Without --notify, nothing is sent.
	res = s.troc("exec", "--name", "backup", "exit 3")
	if len(hook.take())+len(ping.take()) != 0 {
		t.Error("notified without --notify")
	}

	// The job's own setting, and runs that never started: one skipped
	// (when the statuses say so), one whose program does not exist.
	s.mustTroc(0, "job", "update", "--name", "backup", "--notify", "--notify-on", "failed,skipped")
	cmd, _ := s.startJob("backup", "sleep 30")
	hook.take()
	ping.take()
	s.mustTroc(exitSkipped, "exec", "--name", "backup", "true")
	if got := events(t, hook.take()); len(got) != 1 || !strings.HasPrefix(got[0], "end") {
		t.Errorf("skipped run: webhook notices %q, want one end", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	s.mustTroc(exitNotFound, "exec", "--name", "backup", "--", "/nonexistent/program")
	// Its fourth failure in a row (skips aside): a reminder of the streak.
	if got := events(t, hook.take()); !slices.Equal(got, []string{"reminder/4"}) {
		t.Errorf("run that could not start: webhook notices %q, want [reminder/4]", got)
	}
}

// TestExecNotifyAfterLockE2E: notifications happen after the job's lock
// is released, so a notification that hangs does not make the next run
// of the job a skipped one, and troc gives up on it after notify.timeout.
func TestExecNotifyAfterLockE2E(t *testing.T) {
	arrived := make(chan struct{}, 1)
	hook := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL, "TROC_NOTIFY_TIMEOUT=3s")
	first := s.command("exec", "--name", "backup", "--notify", "exit 1")
	var out, errb bytes.Buffer
	first.Stdout, first.Stderr = &out, &errb
	start := time.Now()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case <-arrived:
	case <-exited:
		t.Fatalf("troc exited without notifying\nstderr: %s", errb.String())
	}
	res := s.troc("exec", "--name", "backup", "true")
	if res.code != 0 {
		t.Errorf("second run while the first notifies: exit %d, want 0 (not skipped)\n%s", res.code, res.stderr)
	}
	<-exited
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("first troc took %s with notify.timeout 3s", d)
	}
	if code := first.ProcessState.ExitCode(); code != 1 {
		t.Errorf("first troc exit %d, want the job's 1", code)
	}
	if runs := s.runs(); len(runs) != 2 || !strings.Contains(runs[0].Note, "failure notification by webhook failed: POST ") {
		t.Errorf("the first run's note does not say the notification failed: %+v", runs)
	}
}

// TestNotifySecretsE2E configures every secret, makes every channel fail,
// and looks for the secrets in everything troc wrote: stdout, stderr, the
// system log, the job's log (the job prints its environment) and the
// database files.
func TestNotifySecretsE2E(t *testing.T) {
	secrets := map[string]string{
		"token":   "xoxb-E2E-TOKEN-SECRET",
		"hook":    "E2EHOOKSECRET0123456789",
		"ping":    "e2e0f7e1-5d8e-PINGSECRET",
		"header":  "E2EHEADERSECRET",
		"webhook": "E2EWEBHOOKPATHSECRET",
	}
	echo := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// Repeats what it got, in its error.
		http.Error(w, "rejected "+r.URL.Path+" "+r.Header.Get("Authorization"), http.StatusForbidden)
	})
	closed := fmt.Sprintf("127.0.0.1:%d", sparePort(t))
	s := newSandbox(t)
	s.env = append(s.env,
		"TROC_NOTIFY_SLACK_TOKEN="+secrets["token"], "TROC_NOTIFY_SLACK_CHANNEL=#ops",
		"TROC_NOTIFY_SLACK_API_URL="+echo.URL,
		"TROC_NOTIFY_WEBHOOK_URL=http://"+closed+"/"+secrets["webhook"],
		"TROC_NOTIFY_WEBHOOK_HEADERS=Authorization: Bearer "+secrets["header"],
		"TROC_NOTIFY_PING_URL="+echo.URL+"/"+secrets["ping"],
	)
	res := s.troc("exec", "--name", "leaky", "--notify", `env; tr '\0' '\n' < /proc/$$/environ; exit 1`)
	// The same with the Slack webhook instead of the token.
	s.env = append(s.env, "TROC_NOTIFY_SLACK_TOKEN=", "TROC_NOTIFY_SLACK_WEBHOOK="+echo.URL+"/services/T1/B1/"+secrets["hook"])
	res2 := s.troc("exec", "--name", "leaky", "--notify", `env; tr '\0' '\n' < /proc/$$/environ; exit 1`)

	texts := map[string][]byte{"stdout": []byte(res.stdout + res2.stdout), "stderr": []byte(res.stderr + res2.stderr)}
	for _, r := range []result{res, res2} {
		run := r.run(t)
		for _, p := range []*string{run.LogFile, run.SystemLogFile} {
			if p != nil {
				texts[*p] = []byte(fileContent(t, *p))
			}
		}
		if run.Note == nil || !strings.Contains(*run.Note, "notification by") {
			t.Errorf("note %v does not say the notifications failed", run.Note)
		}
	}
	db, _ := filepath.Glob(filepath.Join(s.configDir(), "troc.db*"))
	for _, p := range db {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = b
	}
	for where, b := range texts {
		for what, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s shows the %s secret", where, what)
			}
		}
	}
}
