package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keys applies keys to st, one at a time, and returns the last action.
func keys(st *uiState, ks ...key) uiAction {
	var act uiAction
	for _, k := range ks {
		act = st.key(k)
	}
	return act
}

func ch(r rune) key { return key{code: keyRune, r: r} }

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
			t.Errorf("%s: action = %d, want actNone", tc.name, act)
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
		t.Fatalf("typing E: filtering, filter, shown = %t, %q, %q; want true, \"E\", [beta never]", st.filtering, st.filter, names(st))
	}
	if got := st.selectedJob(); got != "never" {
		t.Errorf("selection = %q, want never, which it was on", got)
	}
	lines := frameLines(t, st)
	if lines[0] != `troc ui  2 of 5 jobs match "E"                                          12:00:00` || !strings.HasPrefix(lines[23], "filter: E_") {
		t.Errorf("title, footer = %q, %q; want %q, a footer starting \"filter: E_\"", lines[0], lines[23], `troc ui  2 of 5 jobs match "E"                                          12:00:00`)
	}
	// While typing, q and j are text; the arrows still move.
	keys(st, ch('q'), ch('j'), key{code: keyBackspace}, key{code: keyBackspace}, key{code: keyUp})
	if st.filter != "E" || st.selectedJob() != "beta" || !st.filtering {
		t.Fatalf("typing: filter, selected, filtering = %q, %q, %t; want \"E\", beta, true", st.filter, st.selectedJob(), st.filtering)
	}
	keys(st, ch('v'), kEnter)
	if st.filtering || st.filter != "Ev" || st.view != viewJobs || !slices.Equal(names(st), []string{"never"}) {
		t.Fatalf("Enter: filtering, filter, view, shown = %t, %q, %d, %q; want false, \"Ev\", viewJobs, [never]", st.filtering, st.filter, st.view, names(st))
	}
	if lines := frameLines(t, st); lines[23] != uiHelpFilter {
		t.Errorf("footer = %q, want %q", lines[23], uiHelpFilter)
	}
	keys(st, kEsc)
	if st.filter != "" || len(st.shown) != 5 {
		t.Errorf("Esc: filter, shown = %q, %q; want \"\", all 5 jobs", st.filter, names(st))
	}
	// Esc while typing clears too; a filter that matches nothing shows
	// nothing, and Enter on nothing does nothing.
	keys(st, ch('/'), ch('z'), kEsc)
	if st.filter != "" || st.filtering || len(st.shown) != 5 {
		t.Errorf("Esc while typing: filter, filtering, shown = %q, %t, %d; want \"\", false, 5", st.filter, st.filtering, len(st.shown))
	}
	if act := keys(st, ch('/'), ch('z'), kEnter, kEnter); act != actNone || len(st.shown) != 0 || st.view != viewJobs {
		t.Errorf("Enter on no job: action, shown, view = %d, %d, %d; want actNone, 0, viewJobs", act, len(st.shown), st.view)
	}
	frameLines(t, st)
}

// TestUIViews: Enter opens a job's runs and a run's log, Esc goes back, K
// asks before a kill, q and Ctrl-C quit.
func TestUIViews(t *testing.T) {
	st := testUI(80, 24, false)
	if act := keys(st, ch('K')); act != actNone || st.confirm != nil {
		t.Errorf("K in the jobs view: action = %d, confirm = %v; want actNone, nil", act, st.confirm)
	}
	if act := keys(st, ch('j'), ch('j'), ch('j'), kEnter); act != actLoad || st.view != viewRuns || st.job.Name != "slow" {
		t.Fatalf("Enter on slow: action, view, job = %d, %d, %q; want actLoad, viewRuns, slow", act, st.view, st.job.Name)
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
		t.Errorf("footer = %q, want %q", lines[23], uiHelpRuns)
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
	if want := "troc ui  jobs > slow  failing: its last run Failed  4 runs"; !strings.HasPrefix(frameLines(t, st)[0], want) {
		t.Errorf("title = %q, want it to start with %q", frameLines(t, st)[0], want)
	}
	keys(st, ch('g'))

	if act := keys(st, ch('K')); act != actAskKill || st.killTarget().ID != 4 {
		t.Fatalf("K: action = %d, want actAskKill on run 4", act)
	}
	st.confirm = st.killTarget()
	if lines := frameLines(t, st); !strings.HasPrefix(lines[23], "Send SIGTERM to run 4 of slow (process group 4242)? [y/N]  backup --full") {
		t.Errorf("question = %q, want it to start with %q", lines[23], "Send SIGTERM to run 4 of slow (process group 4242)? [y/N]  backup --full")
	}
	if act := keys(st, ch('n')); act != actNone || st.confirm != nil || st.message != "not confirmed; no signal sent" {
		t.Errorf("n: action, confirm, message = %d, %v, %q; want actNone, nil, \"not confirmed; no signal sent\"", act, st.confirm, st.message)
	}
	st.confirm = st.killTarget()
	if act := keys(st, ch('y')); act != actKill {
		t.Errorf("y: action = %d, want actKill", act)
	}
	st.confirm = nil

	if act := keys(st, kEnter); act != actOpenLog {
		t.Fatalf("Enter on a run: action = %d, want actOpenLog", act)
	}
	st.openLog(st.selectedRun())
	st.appendLog([]byte("first\nsecond\n"))
	lines = frameLines(t, st)
	if !strings.HasPrefix(lines[0], "troc ui  jobs > slow > run 4  🔄 Running  1h00m…  following") ||
		lines[1] != "first" || lines[2] != "second" || lines[23] != uiHelpLog {
		t.Errorf("log view:\n%s\nwant a title starting %q, lines first and second, footer %q", strings.Join(lines, "\n"), "troc ui  jobs > slow > run 4  🔄 Running  1h00m…  following", uiHelpLog)
	}
	if act := keys(st, ch('K')); act != actAskKill || st.killTarget().ID != 4 {
		t.Errorf("K in the log view: action = %d, want actAskKill on run 4", act)
	}
	if act := keys(st, kEsc); act != actLoad || st.view != viewRuns {
		t.Errorf("Esc from the log: action, view = %d, %d; want actLoad, viewRuns", act, st.view)
	}
	if act := keys(st, kEsc); act != actLoad || st.view != viewJobs {
		t.Errorf("Esc from the runs: action, view = %d, %d; want actLoad, viewJobs", act, st.view)
	}
	if act := keys(st, kEsc); act != actNone || st.view != viewJobs {
		t.Errorf("Esc in the jobs view: action, view = %d, %d; want actNone, viewJobs", act, st.view)
	}
	st.message = "log of run 4 is gone: /tmp/a\nb"
	if lines := frameLines(t, st); lines[23] != "log of run 4 is gone: /tmp/a?b" {
		t.Errorf("message = %q, want %q", lines[23], "log of run 4 is gone: /tmp/a?b")
	}
	if act := keys(st, ch('q')); act != actQuit {
		t.Errorf("q: action = %d, want actQuit", act)
	}
	if act := keys(st, ch('/'), key{code: keyCtrlC}); act != actQuit {
		t.Errorf("Ctrl-C while typing a filter: action = %d, want actQuit", act)
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
		t.Errorf("after %d lines: held, first, cut = %d, %q, %t; want %d, \"line10\", true", uiLogLines+10, len(l.lines), l.lines[0], l.cut, uiLogLines)
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
		t.Errorf("scrolled back:\n%s\nwant line11 at the top and no \"following\" in the title", strings.Join(lines, "\n"))
	}
	keys(st, ch('G'))
	st.appendLog([]byte("line22\n"))
	if st.log.top != 15 || !st.log.follow {
		t.Errorf("G: top %d, follow %t; want 15, true", st.log.top, st.log.follow)
	}
	keys(st, key{code: keyPgUp}, key{code: keyPgUp}, key{code: keyPgUp})
	if st.log.top != 0 {
		t.Errorf("page up past the top: top = %d, want 0", st.log.top)
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
