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
	"slices"
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

// keys applies keys to st, one at a time, and returns the last action.
func keys(st *uiState, ks ...key) uiAction {
	var act uiAction
	for _, k := range ks {
		act = st.key(k)
	}
	return act
}

func ch(r rune) key { return key{code: keyRune, r: r} }

var (
	kEnter = key{code: keyEnter}
	kEsc   = key{code: keyEsc}
)

var sgrCode = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// frameLines renders st and returns the lines of its frame as a terminal
// shows them (no cursor movement, erase or colour), after checking what
// every frame must be: cursor home, then exactly one line per row of the
// screen, none wider than the screen, and no escape sequence but colours.
func frameLines(t *testing.T, st *uiState) []string {
	t.Helper()
	var b bytes.Buffer
	st.render(&b)
	frame, ok := strings.CutPrefix(b.String(), "\x1b[H")
	if !ok {
		t.Fatalf("frame does not start with cursor home: %.20q", b.String())
	}
	lines := strings.Split(frame, "\r\n")
	if len(lines) != st.height {
		t.Fatalf("%dx%d frame has %d lines:\n%s", st.width, st.height, len(lines), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		line = sgrCode.ReplaceAllString(strings.ReplaceAll(line, "\x1b[K", ""), "")
		if strings.ContainsAny(line, "\x1b\r\n\t") {
			t.Errorf("%dx%d frame, line %d has a control character: %q", st.width, st.height, i+1, line)
		}
		if w := textWidth(line); w > st.width {
			t.Errorf("%dx%d frame, line %d is %d columns wide: %q", st.width, st.height, i+1, w, line)
		}
		lines[i] = line
	}
	return lines
}

// wantLines checks that a frame's lines begin with want, trailing spaces
// aside.
func wantLines(t *testing.T, lines, want []string) {
	t.Helper()
	for i, w := range want {
		if got := strings.TrimRight(lines[i], " "); got != w {
			t.Errorf("line %d =\n%q\nwant\n%q", i+1, got, w)
		}
	}
}

// TestUIFrameJobs: the jobs view in 80x24, the smallest terminal it is
// made for: a title, the header, a row per job, the help at the bottom.
func TestUIFrameJobs(t *testing.T) {
	st := testUI(80, 24, false)
	lines := frameLines(t, st)
	want := []string{
		"troc ui  5 jobs                                                         12:00:00",
		"  JOB                 HEALTH   LAST           STARTED      DURATION  NEXT",
		"> alpha               ok       ✅ Succeeded   11-25 11:58  1.5s      11-25 12:05",
		"  beta                failing  ❌ Failed      11-25 11:00  3.0s      -",
		"  never               new      -              -            -         -",
		"  slow                ok       🔄 Running     11-25 11:58  1m30s…    -",
		"  xxxxxxxxxxxxxxxxx…  ok       ✅ Succeeded   11-25 09:00  1m00s     -",
	}
	wantLines(t, lines, want)
	for i := len(want); i < 23; i++ {
		if lines[i] != "" {
			t.Errorf("line %d = %q, want it empty", i+1, lines[i])
		}
	}
	if lines[23] != uiHelpJobs {
		t.Errorf("footer = %q, want %q", lines[23], uiHelpJobs)
	}

	// No jobs: the title says how to make one.
	empty := newUIState(testDisplay(false, true), 80, 24)
	empty.setJobs(nil, uiNow)
	if lines := frameLines(t, empty); !strings.HasPrefix(lines[0], "troc ui  no jobs yet: troc exec --name NAME COMMAND") {
		t.Errorf("without jobs, title %q", lines[0])
	}

	// Wider, the times are whole and the name is not cut.
	st.setSize(160, 24)
	lines = frameLines(t, st)
	if !strings.Contains(lines[2], "2026-11-25 11:58:00") || !strings.Contains(lines[6], strings.Repeat("x", 60)+"-long") {
		t.Errorf("at 160 columns:\n%s\n%s", lines[2], lines[6])
	}
}

// TestUIFrameFits: every view, at every size from tiny to wide, with and
// without colour and emoji, draws exactly one line per row, none wider
// than the screen.
func TestUIFrameFits(t *testing.T) {
	views := map[string]func(st *uiState){
		"jobs": func(st *uiState) {},
		"runs": func(st *uiState) {
			keys(st, ch('G'), kEnter)
			st.setRuns(nil, testRuns(150), uiNow)
		},
		"log": func(st *uiState) {
			st.openLog(testRuns(1)[0])
			st.appendLog([]byte(strings.Repeat("a very long line of output, ", 20) + "\n\ttabbed\n\x1b[31mcoloured\x1b[0m\nwide 日本語 ✅ text\npartial"))
		},
		"confirm": func(st *uiState) { st.confirm = testRuns(1)[0] },
		"filter":  func(st *uiState) { keys(st, ch('/'), ch('l')) },
	}
	for name, setup := range views {
		for _, color := range []bool{false, true} {
			for _, emoji := range []bool{false, true} {
				for _, width := range []int{1, 10, 20, 40, 60, 79, 80, 81, 100, 132, 200, 300} {
					for _, height := range []int{1, 2, 3, 5, 24, 60} {
						st := newUIState(testDisplay(color, emoji), width, height)
						st.setJobs(testJobs(), uiNow)
						setup(st)
						frameLines(t, st)
					}
				}
			}
		}
		if t.Failed() {
			t.Fatalf("view %s", name)
		}
	}
}

// TestUIFrameColor: with NO_COLOR (a display without colour) a frame
// holds no escape sequence but cursor home and erase; with colour, the
// selected row is in reverse video and statuses in their colours.
func TestUIFrameColor(t *testing.T) {
	for _, color := range []bool{false, true} {
		st := testUI(80, 24, color)
		var b bytes.Buffer
		st.render(&b)
		plain := strings.ReplaceAll(strings.ReplaceAll(b.String(), "\x1b[H", ""), "\x1b[K", "")
		switch {
		case !color && strings.Contains(plain, "\x1b"):
			t.Errorf("frame without colour has escape codes: %q", plain)
		case color && (!strings.Contains(plain, "\x1b[7m> alpha") || !strings.Contains(plain, "\x1b[31mfailing\x1b[39m") ||
			!strings.Contains(plain, "\x1b[32m✅ Succeeded\x1b[39m")):
			t.Errorf("frame with colour lacks the reverse selection or the colours: %q", plain)
		}
	}
}

// TestUIMove: the selection moves by one, by a page, to either end, never
// past an end, and the list scrolls to keep it on screen.
func TestUIMove(t *testing.T) {
	var states []*jobState
	for i := range 50 {
		states = append(states, &jobState{Job: Job{ID: int64(i + 1), Name: fmt.Sprintf("job-%02d", i), Created: uiNow}})
	}
	st := newUIState(testDisplay(false, false), 80, 10) // 7 rows on screen
	st.setJobs(states, uiNow)
	for _, tc := range []struct {
		name     string
		key      key
		sel, top int
	}{
		{"up at the top", ch('k'), 0, 0},
		{"down", ch('j'), 1, 0},
		{"arrow down", key{code: keyDown}, 2, 0},
		{"page down", key{code: keyPgDn}, 9, 3},
		{"arrow up", key{code: keyUp}, 8, 3},
		{"end", key{code: keyEnd}, 49, 43},
		{"down at the bottom", ch('j'), 49, 43},
		{"page up", key{code: keyPgUp}, 42, 42},
		{"home", ch('g'), 0, 0},
		{"page up at the top", key{code: keyPgUp}, 0, 0},
		{"G", ch('G'), 49, 43},
		{"Home", key{code: keyHome}, 0, 0},
	} {
		if act := st.key(tc.key); act != actNone {
			t.Errorf("%s: action %d", tc.name, act)
		}
		if st.jobCur != (uiCursor{tc.sel, tc.top}) {
			t.Fatalf("%s: selection %d, top %d; want %d, %d", tc.name, st.jobCur.sel, st.jobCur.top, tc.sel, tc.top)
		}
		lines := frameLines(t, st)
		if want := fmt.Sprintf("> job-%02d", tc.sel); !strings.HasPrefix(lines[2+tc.sel-tc.top], want) {
			t.Errorf("%s: line %d = %q, want %q", tc.name, 3+tc.sel-tc.top, lines[2+tc.sel-tc.top], want)
		}
	}
	// A smaller screen keeps the selection on it.
	keys(st, ch('G'))
	st.setSize(80, 5)
	if st.jobCur != (uiCursor{49, 48}) {
		t.Errorf("after shrinking: selection %+v, want {49 48}", st.jobCur)
	}
	// Data read again keeps the selection on its job.
	keys(st, ch('g'), ch('j'), ch('j'))
	st.setJobs(append([]*jobState{{Job: Job{ID: 99, Name: "aaa", Created: uiNow}}}, states...), uiNow)
	if got := st.selectedJob(); got != "job-02" {
		t.Errorf("after a new job: selected %q, want job-02", got)
	}
}

// TestUIFilter: "/" starts the filter, text filters the jobs by a part of
// their name in any case, Enter keeps it, Esc clears it.
func TestUIFilter(t *testing.T) {
	names := func(st *uiState) []string {
		var list []string
		for _, j := range st.shown {
			list = append(list, j.Name)
		}
		return list
	}
	st := testUI(80, 24, false)
	keys(st, ch('j'), ch('j'), ch('/'), ch('E'))
	if !st.filtering || st.filter != "E" || !slices.Equal(names(st), []string{"beta", "never"}) {
		t.Fatalf("typing E: filtering %t, filter %q, shown %q", st.filtering, st.filter, names(st))
	}
	if got := st.selectedJob(); got != "never" {
		t.Errorf("selection = %q, want never, which it was on", got)
	}
	lines := frameLines(t, st)
	if lines[0] != `troc ui  2 of 5 jobs match "E"                                          12:00:00` || !strings.HasPrefix(lines[23], "filter: E_") {
		t.Errorf("title %q, footer %q", lines[0], lines[23])
	}
	// While typing, q and j are text; the arrows still move.
	keys(st, ch('q'), ch('j'), key{code: keyBackspace}, key{code: keyBackspace}, key{code: keyUp})
	if st.filter != "E" || st.selectedJob() != "beta" || !st.filtering {
		t.Fatalf("typing: filter %q, selected %q", st.filter, st.selectedJob())
	}
	keys(st, ch('v'), kEnter)
	if st.filtering || st.filter != "Ev" || st.view != viewJobs || !slices.Equal(names(st), []string{"never"}) {
		t.Fatalf("Enter: filtering %t, filter %q, view %d", st.filtering, st.filter, st.view)
	}
	if lines := frameLines(t, st); lines[23] != uiHelpFilter {
		t.Errorf("footer = %q, want %q", lines[23], uiHelpFilter)
	}
	keys(st, kEsc)
	if st.filter != "" || len(st.shown) != 5 {
		t.Errorf("Esc: filter %q, shown %q", st.filter, names(st))
	}
	// Esc while typing clears too; a filter that matches nothing shows
	// nothing, and Enter on nothing does nothing.
	keys(st, ch('/'), ch('z'), kEsc)
	if st.filter != "" || st.filtering || len(st.shown) != 5 {
		t.Errorf("Esc while typing: filter %q, filtering %t", st.filter, st.filtering)
	}
	if act := keys(st, ch('/'), ch('z'), kEnter, kEnter); act != actNone || len(st.shown) != 0 || st.view != viewJobs {
		t.Errorf("Enter on no job: action %d, view %d", act, st.view)
	}
	frameLines(t, st)
}

// TestUIViews: Enter opens a job's runs and a run's log, Esc goes back, K
// asks before a kill, q and Ctrl-C quit.
func TestUIViews(t *testing.T) {
	st := testUI(80, 24, false)
	if act := keys(st, ch('K')); act != actNone || st.confirm != nil {
		t.Errorf("K in the jobs view: action %d", act)
	}
	if act := keys(st, ch('j'), ch('j'), ch('j'), kEnter); act != actLoad || st.view != viewRuns || st.job.Name != "slow" {
		t.Fatalf("Enter on slow: action %d, view %d, job %q", act, st.view, st.job.Name)
	}
	st.setRuns(nil, testRuns(3), uiNow)
	lines := frameLines(t, st)
	want := []string{
		"troc ui  jobs > slow  ok  3 runs                                        12:00:00",
		"  ID  STATUS         START                DURATION  EXIT",
		"> 3   🔄 Running     2026-11-25 11:00:00  1h00m…    -",
		"  2   🛑 Terminated  2026-11-25 10:00:00  12.0s     SIGTERM",
		"  1   ❌ Failed      2026-11-25 09:00:00  12.0s     3",
	}
	wantLines(t, lines, want)
	if lines[23] != uiHelpRuns {
		t.Errorf("footer = %q", lines[23])
	}
	// A new run on top: the selection stays on the run it was on. The
	// job read again shows its new health.
	keys(st, ch('j'))
	failing := testJobs()[3]
	failing.LastEnd = StatusFailed
	st.setRuns(failing, testRuns(4), uiNow)
	if r := st.selectedRun(); r.ID != 2 {
		t.Errorf("after a new run, selected run %d, want 2", r.ID)
	}
	if lines := frameLines(t, st); !strings.HasPrefix(lines[0], "troc ui  jobs > slow  failing  4 runs") {
		t.Errorf("title = %q", lines[0])
	}
	keys(st, ch('g'))

	if act := keys(st, ch('K')); act != actAskKill || st.killTarget().ID != 4 {
		t.Fatalf("K: action %d", act)
	}
	st.confirm = st.killTarget()
	if lines := frameLines(t, st); !strings.HasPrefix(lines[23], "Send SIGTERM to run 4 of slow (process group 4242)? [y/N]  backup --full") {
		t.Errorf("question = %q", lines[23])
	}
	if act := keys(st, ch('n')); act != actNone || st.confirm != nil || st.message != "not confirmed; no signal sent" {
		t.Errorf("n: action %d, message %q", act, st.message)
	}
	st.confirm = st.killTarget()
	if act := keys(st, ch('y')); act != actKill {
		t.Errorf("y: action %d", act)
	}
	st.confirm = nil

	if act := keys(st, kEnter); act != actOpenLog {
		t.Fatalf("Enter on a run: action %d", act)
	}
	st.openLog(st.selectedRun())
	st.appendLog([]byte("first\nsecond\n"))
	lines = frameLines(t, st)
	if !strings.HasPrefix(lines[0], "troc ui  jobs > slow > run 4  🔄 Running  1h00m…  following") ||
		lines[1] != "first" || lines[2] != "second" || lines[23] != uiHelpLog {
		t.Errorf("log view:\n%s", strings.Join(lines, "\n"))
	}
	if act := keys(st, ch('K')); act != actAskKill || st.killTarget().ID != 4 {
		t.Errorf("K in the log view: action %d", act)
	}
	if act := keys(st, kEsc); act != actLoad || st.view != viewRuns {
		t.Errorf("Esc from the log: action %d, view %d", act, st.view)
	}
	if act := keys(st, kEsc); act != actLoad || st.view != viewJobs {
		t.Errorf("Esc from the runs: action %d, view %d", act, st.view)
	}
	if act := keys(st, kEsc); act != actNone || st.view != viewJobs {
		t.Errorf("Esc in the jobs view: action %d, view %d", act, st.view)
	}
	st.message = "log of run 4 is gone: /tmp/a\nb"
	if lines := frameLines(t, st); lines[23] != "log of run 4 is gone: /tmp/a?b" {
		t.Errorf("message = %q", lines[23])
	}
	if act := keys(st, ch('q')); act != actQuit {
		t.Errorf("q: action %d", act)
	}
	if act := keys(st, ch('/'), key{code: keyCtrlC}); act != actQuit {
		t.Errorf("Ctrl-C while typing a filter: action %d", act)
	}
}

// TestUILog: the log view holds lines made printable, the last one while
// it is being written, at most uiLogLines of them, and follows the end
// until scrolled back.
func TestUILog(t *testing.T) {
	var l uiLog
	for _, b := range []string{"one\ntw", "o\n", "50%\r100%\r\n", "a\tb\tc\n", "\x1b[31mred\x1b[0m\u009b\n", "bad \xff\n", "no newline"} {
		l.append([]byte(b))
	}
	want := []string{"one", "two", "100%", "a       b       c", "?[31mred?[0m?", "bad \uFFFD"}
	if !slices.Equal(l.lines, want) || string(l.partial) != "no newline" || l.length() != 7 {
		t.Errorf("lines %q, partial %q; want %q, \"no newline\"", l.lines, l.partial, want)
	}

	l = uiLog{}
	l.append(bytes.Repeat([]byte("x"), 3*uiLineBytes))
	l.append([]byte("y\n"))
	if len(l.lines) != 1 || len(l.lines[0]) != uiLineBytes {
		t.Errorf("a long line is kept as %d bytes, want %d", len(l.lines[0]), uiLineBytes)
	}

	l = uiLog{}
	for i := range uiLogLines + 10 {
		l.append(fmt.Appendf(nil, "line%d\n", i))
	}
	if len(l.lines) != uiLogLines || l.lines[0] != "line10" || !l.cut {
		t.Errorf("after %d lines: %d held, first %q, cut %t", uiLogLines+10, len(l.lines), l.lines[0], l.cut)
	}
	l.skip()
	l.append([]byte("rest of a line\nnext\n"))
	if !slices.Equal(l.lines, []string{"next"}) {
		t.Errorf("after a skip: %q, want the part line dropped", l.lines)
	}

	st := testUI(80, 10, false) // 8 lines on screen
	st.openLog(testRuns(1)[0])
	for i := range 20 {
		st.appendLog(fmt.Appendf(nil, "line%d\n", i))
	}
	if st.log.top != 12 {
		t.Fatalf("following: top %d, want 12", st.log.top)
	}
	keys(st, ch('k'))
	st.appendLog([]byte("line20\nline21\n"))
	if st.log.top != 11 || st.log.follow {
		t.Errorf("scrolled back: top %d, follow %t; want 11, false", st.log.top, st.log.follow)
	}
	if lines := frameLines(t, st); lines[1] != "line11" || strings.Contains(lines[0], "following") {
		t.Errorf("scrolled back:\n%s", strings.Join(lines, "\n"))
	}
	keys(st, ch('G'))
	st.appendLog([]byte("line22\n"))
	if st.log.top != 15 || !st.log.follow {
		t.Errorf("G: top %d, follow %t; want 15, true", st.log.top, st.log.follow)
	}
	keys(st, key{code: keyPgUp}, key{code: keyPgUp}, key{code: keyPgUp})
	if st.log.top != 0 {
		t.Errorf("page up past the top: top %d", st.log.top)
	}
}

func TestUIParseKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []key
	}{
		{"letters", "jq/", []key{ch('j'), ch('q'), ch('/')}},
		{"arrows", "\x1b[A\x1b[B\x1bOA\x1bOB", []key{{code: keyUp}, {code: keyDown}, {code: keyUp}, {code: keyDown}}},
		{"pages", "\x1b[5~\x1b[6~", []key{{code: keyPgUp}, {code: keyPgDn}}},
		{"home and end", "\x1b[H\x1b[F\x1b[1~\x1b[4~", []key{{code: keyHome}, {code: keyEnd}, {code: keyHome}, {code: keyEnd}}},
		{"Esc alone", "\x1b", []key{{code: keyEsc}}},
		{"Esc then a letter", "\x1bq", []key{{code: keyEsc}, ch('q')}},
		{"enter", "\r\n", []key{{code: keyEnter}, {code: keyEnter}}},
		{"backspace", "\x7f\x08", []key{{code: keyBackspace}, {code: keyBackspace}}},
		{"Ctrl-C", "\x03", []key{{code: keyCtrlC}}},
		{"unknown sequence", "\x1b[1;5Cx", []key{{code: keyOther}, ch('x')}},
		{"cut sequence", "\x1b[1", []key{{code: keyOther}}},
		{"control", "\x01", []key{{code: keyOther}}},
		{"UTF-8", "é", []key{ch('é')}},
	} {
		if got := parseKeys([]byte(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: parseKeys(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

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
		t.Fatalf("jobs view at 80x24:\n%s", screen)
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
		t.Fatalf("filtered on lo:\n%s", screen)
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
		t.Errorf("troc run show %s after the kill:\n%s%s", id, show.stdout, show.stderr)
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
	defer h.close()
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
