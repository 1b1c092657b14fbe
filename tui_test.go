package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// uiNow is the time the unit tests' data was read.
var uiNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testDisplay(color, emoji bool) display {
	return display{color: color, emoji: emoji, loc: time.UTC, cfg: DisplayConfig{Emoji: emoji, Color: map[Status]string{
		StatusRunning: "cyan", StatusSkipped: "yellow", StatusSucceeded: "green",
		StatusFailed: "red", StatusTerminated: "magenta", StatusTimedOut: "red",
	}}}
}

// testRun is a run of job that started ago before uiNow and, unless
// Running, took took.
func testRun(id int64, job string, status Status, ago, took time.Duration) *Run {
	r := &Run{ID: id, Job: job, Status: status, Start: uiNow.Add(-ago), PID: 4242, Host: "web1", Command: "backup --full"}
	if status == StatusRunning {
		return r
	}
	r.End = r.Start.Add(took)
	switch status {
	case StatusSucceeded, StatusFailed:
		code := 0
		if status == StatusFailed {
			code = 3
		}
		r.ExitCode = &code
	case StatusTerminated:
		r.Signal = syscall.SIGTERM
	}
	return r
}

// testJobs are five jobs, by name: ok and scheduled, failing, new,
// running, and one with a long name.
func testJobs() []*jobState {
	created := uiNow.Add(-48 * time.Hour)
	job := func(id int64, name string) Job { return Job{ID: id, Name: name, Created: created} }
	alpha := &jobState{Job: job(1, "alpha"), LastRun: testRun(10, "alpha", StatusSucceeded, 2*time.Minute, 1500*time.Millisecond), LastEnd: StatusSucceeded}
	alpha.Schedule, alpha.ScheduleSet = "*/5 * * * *", created
	long := strings.Repeat("x", 60) + "-long"
	return []*jobState{
		alpha,
		{Job: job(2, "beta"), LastRun: testRun(11, "beta", StatusFailed, time.Hour, 3*time.Second), LastEnd: StatusFailed},
		{Job: job(3, "never")},
		{Job: job(4, "slow"), LastRun: testRun(12, "slow", StatusRunning, 90*time.Second, 0), RunningSince: uiNow.Add(-90 * time.Second)},
		{Job: job(5, long), LastRun: testRun(13, long, StatusSucceeded, 3*time.Hour, time.Minute), LastEnd: StatusSucceeded},
	}
}

// testRuns are n runs of job slow, newest first, the newest Running.
func testRuns(n int) []*Run {
	var runs []*Run
	for i := n; i > 0; i-- {
		status := []Status{StatusSucceeded, StatusFailed, StatusTerminated, StatusSkipped}[i%4]
		if i == n {
			status = StatusRunning
		}
		runs = append(runs, testRun(int64(i), "slow", status, time.Duration(n-i+1)*time.Hour, 12*time.Second))
	}
	return runs
}

func testUI(width, height int, color bool) *uiState {
	st := newUIState(testDisplay(color, true), width, height)
	st.setJobs(testJobs(), uiNow)
	return st
}

var (
	kEnter = key{code: keyEnter}
	kEsc   = key{code: keyEsc}
)

var sgrCode = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestUITerminalRestore: a panic in troc ui's loop still puts the
// terminal back: deferred restore runs before the panic goes on.
func TestUITerminalRestore(t *testing.T) {
	master, slave := openPTY(t)
	var before syscall.Termios
	if err := termios(slave, syscall.TCGETS, &before); err != nil {
		t.Fatal(err)
	}
	var during syscall.Termios
	panicked := func() (p any) {
		defer func() { p = recover() }()
		term, err := openTerminal(slave, slave)
		if err != nil {
			t.Fatal(err)
		}
		defer term.restore()
		if err := termios(slave, syscall.TCGETS, &during); err != nil {
			t.Error(err)
		}
		panic("boom")
	}()
	if panicked != "boom" {
		t.Fatalf("recovered %v, want the panic", panicked)
	}
	if during.Lflag&(syscall.ICANON|syscall.ECHO|syscall.ISIG) != 0 {
		t.Errorf("in raw mode, lflag %#x still has ICANON, ECHO or ISIG", during.Lflag)
	}
	var after syscall.Termios
	if err := termios(slave, syscall.TCGETS, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("modes after the panic:\n%+v\nwant\n%+v", after, before)
	}
	master.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 256)
	for !bytes.Contains(out, []byte(leaveScreen)) {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("terminal output %q: %v", out, err)
		}
		out = append(out, buf[:n]...)
	}
	if string(out) != enterScreen+leaveScreen {
		t.Errorf("terminal output = %q, want %q", out, enterScreen+leaveScreen)
	}
}

// TestUINeedsTerminal: without a terminal troc ui says so, as a misuse.
func TestUINeedsTerminal(t *testing.T) {
	newSandbox(t).refuses([]misuse{
		{"no terminal", []string{"ui"}, exitUsage, "troc ui needs a terminal"},
		{"argument", []string{"ui", "jobs"}, exitUsage, `unexpected argument "jobs"`},
	})
}

// tmuxPane is a shell in a tmux server of the test's own, 80x24: a
// real terminal whose screen the test reads as a person sees it.
type tmuxPane struct {
	t      *testing.T
	tmux   string
	socket string
}

var tmuxServers atomic.Int64

func newTmuxPane(t *testing.T, s *sandbox) *tmuxPane {
	t.Helper()
	p := &tmuxPane{
		t:      t,
		tmux:   needProgram(t, "tmux", "tmux"),
		socket: fmt.Sprintf("troc-test-%d-%d", os.Getpid(), tmuxServers.Add(1)),
	}
	// The shell gets exactly the sandbox's environment, and a prompt to
	// know it by.
	shell := "env -i"
	for _, kv := range append(s.environ(), "PS1=ready$ ") {
		shell += " '" + strings.ReplaceAll(kv, "'", `'\''`) + "'"
	}
	p.tmuxCmd("new-session", "-d", "-x", "80", "-y", "24", "-c", s.dir, shell+" sh")
	t.Cleanup(func() { exec.Command(p.tmux, "-L", p.socket, "kill-server").Run() })
	p.waitScreen("the shell prompt", func(screen string) bool { return strings.Contains(screen, "ready$") })
	return p
}

// tmuxCmd runs a tmux command on the pane's server and returns its output.
func (p *tmuxPane) tmuxCmd(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.tmux, append([]string{"-L", p.socket, "-f", "/dev/null"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") { // a tmux around the tests is not ours
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// send sends keys as tmux names them ("Enter", "Up", "C-c", "j").
func (p *tmuxPane) send(keys ...string) {
	p.t.Helper()
	p.tmuxCmd(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

// typeLine types text and Enter.
func (p *tmuxPane) typeLine(text string) {
	p.t.Helper()
	p.tmuxCmd("send-keys", "-t", "0", "-l", text)
	p.send("Enter")
}

// screen is what the pane shows, lines wrapped by the shell joined and
// trailing spaces trimmed.
func (p *tmuxPane) screen() string {
	p.t.Helper()
	lines := strings.Split(p.tmuxCmd("capture-pane", "-p", "-J", "-t", "0"), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimRight(line, " ")
	}
	return strings.Join(lines, "\n")
}

// format is a tmux format of the pane: "#{alternate_on}".
func (p *tmuxPane) format(f string) string {
	p.t.Helper()
	return strings.TrimSpace(p.tmuxCmd("display-message", "-p", "-t", "0", f))
}

// waitScreen waits until the screen shows what cond looks for, and
// returns it; a test that times out shows the last screen.
func (p *tmuxPane) waitScreen(what string, cond func(screen string) bool) string {
	p.t.Helper()
	var screen string
	defer func() {
		if p.t.Failed() {
			p.t.Logf("the screen:\n%s", screen)
		}
	}()
	waitFor(p.t, what, func() bool {
		screen = p.screen()
		return cond(screen)
	})
	return screen
}

// waitText waits until the screen shows every one of texts.
func (p *tmuxPane) waitText(texts ...string) string {
	p.t.Helper()
	return p.waitScreen(fmt.Sprintf("%q on the screen", texts), func(screen string) bool {
		for _, text := range texts {
			if !strings.Contains(screen, text) {
				return false
			}
		}
		return true
	})
}

// selected is the name on the selected row (the one marked ">").
func selected(screen string) string {
	for line := range strings.SplitSeq(screen, "\n") {
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			return strings.Fields(rest)[0]
		}
	}
	return ""
}

var (
	slowRunning = regexp.MustCompile(`(?m)^  slow .*Running`)
	longTime    = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	logLine     = regexp.MustCompile(`(?m)^line(\d+)$`)
	ttyModes    = regexp.MustCompile(`modes=(-?icanon) (-?echo)`)
	logRunID    = regexp.MustCompile(`> run (\d+) `)
	roundEnd    = regexp.MustCompile(`round (\d+) exit=(\d+) modes=(-?icanon) (-?echo)`)
)

// sttyModes, in a shell command line, is the terminal's line editing and
// echo modes as ttyModes and roundEnd read them: "icanon echo " when
// cooked.
const sttyModes = `$(stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\n' ' ')`

// lastLogLine is the number of the last "lineN" on the screen; 0 for none.
func lastLogLine(screen string) int {
	n := 0
	for _, m := range logLine.FindAllStringSubmatch(screen, -1) {
		n, _ = strconv.Atoi(m[1])
	}
	return n
}

// TestUIDashboard drives troc ui in a real terminal as a person would:
// moving, filtering, opening a run's log while it is written, killing
// the run, resizing, and quitting back to a working shell.
func TestUIDashboard(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "alpha", "true")
	s.troc("exec", "--name", "beta", "false")
	slow := s.command("exec", "--name", "slow", "for i in $(seq 1 300); do echo line$i; sleep 0.2; done")
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		slow.Process.Signal(syscall.SIGTERM) // troc passes it on to the job
		slow.Wait()
	})
	p := newTmuxPane(t, s)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p.typeLine(exe + " ui")

	// The jobs, in 80x24: the title, the header, a row each, the help.
	screen := p.waitScreen("the jobs, slow running", func(screen string) bool {
		return slowRunning.MatchString(screen)
	})
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	if len(lines) != 24 || !strings.HasPrefix(lines[0], "troc ui  3 jobs") || !strings.HasPrefix(lines[1], "  JOB ") ||
		!strings.HasPrefix(lines[2], "> alpha ") || lines[23] != uiHelpJobs || longTime.MatchString(screen) {
		t.Fatalf("jobs view at 80x24:\n%s\nwant 24 lines: the title \"troc ui  3 jobs\", the header, alpha selected, the jobs help, no whole times", screen)
	}
	if got := p.format("#{alternate_on} #{cursor_flag}"); got != "1 0" {
		t.Errorf("in troc ui: alternate screen and cursor flags %q, want 1 0", got)
	}

	// Moving.
	for _, step := range []struct{ key, want string }{
		{"j", "beta"}, {"Down", "slow"}, {"Down", "slow"}, {"Up", "beta"}, {"k", "alpha"}, {"G", "slow"}, {"g", "alpha"},
	} {
		p.send(step.key)
		p.waitScreen(step.key+" selecting "+step.want, func(screen string) bool { return selected(screen) == step.want })
	}

	// Filtering: typed text narrows the jobs, Esc clears, Enter keeps.
	p.send("/", "s", "l")
	p.waitText(`1 of 3 jobs match "sl"`, "filter: sl_")
	p.send("Escape")
	p.waitText("troc ui  3 jobs", uiHelpJobs)
	p.send("/", "l", "o", "Enter")
	screen = p.waitText(`1 of 3 jobs match "lo"`, uiHelpFilter)
	if selected(screen) != "slow" || strings.Contains(screen, "alpha") {
		t.Fatalf("filtered on lo:\n%s\nwant slow selected and no alpha", screen)
	}

	// The runs of slow, then the log of its run, which grows on screen.
	p.send("Enter")
	p.waitText("troc ui  jobs > slow", "1 run", uiHelpRuns)
	p.send("Enter")
	screen = p.waitScreen("the log of slow's run", func(screen string) bool {
		return strings.Contains(screen, "following") && lastLogLine(screen) > 0
	})
	first := lastLogLine(screen)
	p.waitScreen(fmt.Sprintf("line%d after line%d", first+3, first), func(screen string) bool {
		return lastLogLine(screen) >= first+3
	})
	id := logRunID.FindStringSubmatch(screen)[1]

	// K asks first; n sends nothing, y sends SIGTERM.
	p.send("K")
	p.waitText("Send SIGTERM to run "+id+" of slow", "[y/N]")
	p.send("n")
	p.waitText("not confirmed; no signal sent")
	p.send("K")
	p.waitText("[y/N]")
	p.send("y")
	p.waitText("sent SIGTERM to run "+id+" of slow", "Terminated")
	if show := s.troc("run", "show", id); !strings.Contains(show.stdout, `"status": "Terminated"`) {
		t.Errorf("troc run show %s after the kill:\n%s%s\nwant it to contain %q", id, show.stdout, show.stderr, `"status": "Terminated"`)
	}

	// A bigger terminal: the screen follows, and the jobs get whole times.
	p.tmuxCmd("resize-window", "-t", "0", "-x", "100", "-y", "30")
	p.waitScreen("the log at 100x30", func(screen string) bool {
		lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
		return len(lines) == 30 && strings.HasPrefix(lines[29], "sent SIGTERM")
	})
	p.send("Escape")
	p.waitText("troc ui  jobs > slow  failing", "Terminated", "SIGTERM", uiHelpRuns)
	p.send("Escape", "Escape")
	screen = p.waitText("troc ui  3 jobs", "Terminated", uiHelpJobs)
	if !longTime.MatchString(screen) {
		t.Errorf("jobs at 100 columns have no whole times:\n%s", screen)
	}

	// q: back to the shell, in its normal modes.
	p.send("q")
	p.waitText(exe + " ui\nready$")
	if got := p.format("#{alternate_on} #{cursor_flag}"); got != "0 1" {
		t.Errorf("after q: alternate screen and cursor flags %q, want 0 1", got)
	}
	p.typeLine(`echo "modes=` + sttyModes + `"`)
	screen = p.waitScreen("stty's modes", func(screen string) bool { return ttyModes.MatchString(screen) })
	if m := ttyModes.FindStringSubmatch(screen); m[1] != "icanon" || m[2] != "echo" {
		t.Errorf("after q, the terminal's modes are %s %s, want icanon echo", m[1], m[2])
	}
}

// TestUIRestoresTerminal: q, Ctrl-C, SIGTERM and SIGHUP all leave troc ui
// with the terminal as it was: cooked, echoing, the shell's screen back
// and the cursor shown.
func TestUIRestoresTerminal(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "alpha", "true")
	p := newTmuxPane(t, s)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(s.dir, "ui.pid")
	for round, tc := range []struct {
		name     string
		way      func(pid int)
		wantExit int
	}{
		{"q", func(int) { p.send("q") }, 0},
		{"Ctrl-C", func(int) { p.send("C-c") }, 0},
		{"SIGTERM", func(pid int) { syscall.Kill(pid, syscall.SIGTERM) }, 128 + int(syscall.SIGTERM)},
		{"SIGHUP", func(pid int) { syscall.Kill(pid, syscall.SIGHUP) }, 128 + int(syscall.SIGHUP)},
	} {
		os.Remove(pidFile)
		p.typeLine(fmt.Sprintf(`sh -c 'echo $$ >%s; exec %s ui'; echo "round %d exit=$? modes=%s"`, pidFile, exe, round, sttyModes))
		p.waitScreen(tc.name+": troc ui showing", func(screen string) bool {
			return strings.Contains(screen, "troc ui  1 job") && p.format("#{alternate_on}") == "1"
		})
		pid, err := strconv.Atoi(strings.TrimSpace(fileContent(t, pidFile)))
		if err != nil {
			t.Fatal(err)
		}
		tc.way(pid)
		var end []string
		p.waitScreen(tc.name+": the shell back", func(screen string) bool {
			all := roundEnd.FindAllStringSubmatch(screen, -1)
			if len(all) == 0 {
				return false
			}
			end = all[len(all)-1]
			return end[1] == strconv.Itoa(round)
		})
		if end[2] != strconv.Itoa(tc.wantExit) {
			t.Errorf("%s: troc ui exited %s, want %d", tc.name, end[2], tc.wantExit)
		}
		if end[3] != "icanon" || end[4] != "echo" {
			t.Errorf("%s: the terminal's modes are %s %s, want icanon echo", tc.name, end[3], end[4])
		}
		if got := p.format("#{alternate_on} #{cursor_flag}"); got != "0 1" {
			t.Errorf("%s: alternate screen and cursor flags %q, want 0 1", tc.name, got)
		}
	}
}

// BenchmarkUIFrame measures what troc ui does for each refresh of the
// jobs view of 1,000 scheduled jobs, but the query: working out every
// job's health, and drawing the frame. (bench/ui.sh measures it with the
// query, against a real history.)
func BenchmarkUIFrame(b *testing.B) {
	var states []*jobState
	for i := range 1000 {
		name := fmt.Sprintf("job-%04d", i)
		s := &jobState{Job: Job{ID: int64(i + 1), Name: name, Created: uiNow.Add(-24 * time.Hour)},
			LastRun: testRun(int64(i+1), name, StatusSucceeded, time.Hour, 12*time.Second), LastEnd: StatusSucceeded}
		s.Schedule, s.ScheduleSet = "0 */8 * * *", s.Created
		states = append(states, s)
	}
	st := newUIState(testDisplay(true, true), 80, 24)
	var frame bytes.Buffer
	for b.Loop() {
		st.setJobs(states, uiNow)
		frame.Reset()
		st.render(&frame)
	}
}

// BenchmarkUIRefresh measures a whole refresh of the jobs view of 1,000
// jobs: the query, every job's health, the frame. It reads the history
// in $TROC_UI_BENCH_CONFIG (bench/ui.sh seeds one), or else seeds its own:
// 1,000 scheduled jobs with a run each.
func BenchmarkUIRefresh(b *testing.B) {
	dir := os.Getenv("TROC_UI_BENCH_CONFIG")
	if dir == "" {
		dir = b.TempDir()
		seedUIBench(b, dir)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, env: func(key string) (string, bool) {
		switch key {
		case "TROC_CONFIG_PATH", "TMPDIR":
			return dir, true
		}
		return "", false
	}}
	ctx := context.Background()
	h, err := a.openHistory(ctx)
	if err != nil {
		b.Fatal(err)
	}
	h.log = slog.New(slog.DiscardHandler)
	u := &ui{h: h, st: newUIState(testDisplay(true, true), 80, 24)}
	var frame bytes.Buffer
	for b.Loop() {
		if err := u.refresh(ctx); err != nil {
			b.Fatal(err)
		}
		frame.Reset()
		u.st.render(&frame)
	}
	if len(u.st.jobs) < 1000 {
		b.Fatalf("%d jobs in the history, want 1,000", len(u.st.jobs))
	}
}

// seedUIBench writes a history of 1,000 jobs scheduled every 8 hours,
// each with one run, into dir.
func seedUIBench(b *testing.B, dir string) {
	db, err := openDB(filepath.Join(dir, "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().Truncate(time.Millisecond)
	if _, err := db.sql.Exec(`
		WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1000)
		INSERT INTO jobs (name, created_ms, schedule, schedule_ms)
		SELECT printf('job-%04d', i), ?1 - 86400000, '0 */8 * * *', ?1 - 86400000 FROM k`, now.UnixMilli()); err != nil {
		b.Fatal(err)
	}
	// Through insertRun, which keeps the jobs' summaries.
	for i := 1; i <= 1000; i++ {
		code := 0
		r := &Run{Job: fmt.Sprintf("job-%04d", i), Status: StatusSucceeded, Start: now.Add(-time.Hour),
			End: now.Add(-time.Hour + 12*time.Second), ExitCode: &code, Host: "web1", Command: "true"}
		if err := db.insertRun(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
