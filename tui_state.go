package main

// What troc ui shows and what each key does to it. Keys change the state
// and nothing else: what needs the history, a file or a process (reading
// a job's runs, opening a log, signalling a run) comes back as an action
// for tui.go to carry out. So every key can be tested without a terminal
// or a database, and a frame (tui_render.go) is a function of this state
// alone.

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// uiView is the screen troc ui shows.
type uiView int

const (
	viewJobs uiView = iota // every job
	viewRuns               // one job's latest runs
	viewLog                // one run's log
)

// uiAction is what a key asks of tui.go beyond a change of state.
type uiAction int

const (
	actNone    uiAction = iota
	actQuit             // leave troc ui
	actLoad             // the view changed: read what it shows now
	actOpenLog          // open the log of the selected run
	actAskKill          // K: check that the run can be signalled, then ask
	actKill             // the kill was confirmed: send SIGTERM
)

// uiLogLines is how many lines of a log the log view holds: a log may
// run to gigabytes, and a person scrolls back a few screens at most.
// troc run log has the whole of it.
const uiLogLines = 10000

// uiLineBytes is how much of one log line the log view keeps: far more
// than any screen is wide, and a job that writes megabytes without a
// newline does not fill memory.
const uiLineBytes = 4096

// uiJob is a job as the jobs view shows it: its state and its health, as
// of when they were read.
type uiJob struct {
	*jobState
	report healthReport
}

// uiState is everything a frame shows.
type uiState struct {
	width, height int
	disp          display
	now           time.Time // when the data on screen was read
	view          uiView
	message       string // a line for the footer until the next key: what an action did, or why it could not
	confirm       *Run   // the run K asked to kill, while the footer asks y/N

	jobs      []uiJob  // every job, by name
	shown     []*uiJob // those whose name contains the filter
	filter    string
	filtering bool // the filter is being typed
	jobCur    uiCursor

	job    uiJob  // the job whose runs the runs view lists
	runs   []*Run // its latest runs, newest first
	runCur uiCursor

	log uiLog
}

func newUIState(d display, width, height int) *uiState {
	return &uiState{disp: d, width: width, height: height}
}

// uiCursor is the selected row of a list, and the first row on screen.
type uiCursor struct{ sel, top int }

// move moves the selection by delta (and no further than either end) in
// a list of n rows, of which rows fit on screen.
func (c *uiCursor) move(delta, n, rows int) {
	c.sel += delta
	c.fit(n, rows)
}

// fit puts the selection back inside a list of n rows, and scrolls as
// little as it can to keep it among the rows on screen.
func (c *uiCursor) fit(n, rows int) {
	c.sel = max(0, min(c.sel, n-1))
	if c.sel < c.top {
		c.top = c.sel
	}
	if c.sel >= c.top+rows {
		c.top = c.sel - rows + 1
	}
	c.top = max(0, min(c.top, n-rows))
}

// tableRows is how many rows of a table fit under the title and header,
// above the footer.
func (st *uiState) tableRows() int { return max(1, st.height-3) }

// logRows is how many lines of a log fit between the title and the footer.
func (st *uiState) logRows() int { return max(1, st.height-2) }

// fit keeps every selection inside its list and on screen, after the
// lists or the size changed.
func (st *uiState) fit() {
	st.jobCur.fit(len(st.shown), st.tableRows())
	st.runCur.fit(len(st.runs), st.tableRows())
	st.log.fit(st.logRows())
}

func (st *uiState) setSize(width, height int) {
	st.width, st.height = width, height
	st.fit()
}

// setJobs takes every job's state, read at now, and works out its health.
// The selection stays on the job it was on, if it is still shown.
func (st *uiState) setJobs(states []*jobState, now time.Time) {
	keep := st.selectedJob()
	st.now = now
	st.jobs = make([]uiJob, len(states))
	for i, s := range states {
		st.jobs[i] = uiJob{jobState: s, report: s.health(now)}
	}
	st.applyFilter(keep)
}

// selectedJob is the name of the job the selection is on; "" for none.
func (st *uiState) selectedJob() string {
	if len(st.shown) == 0 {
		return ""
	}
	return st.shown[st.jobCur.sel].Name
}

// setFilter shows only the jobs whose name contains text, in any case.
func (st *uiState) setFilter(text string) {
	keep := st.selectedJob()
	st.filter = text
	st.applyFilter(keep)
}

// applyFilter lists the jobs the filter lets through, with the selection
// on the job named keep if it is among them, else on the first.
func (st *uiState) applyFilter(keep string) {
	needle := strings.ToLower(st.filter)
	st.shown = st.shown[:0]
	st.jobCur.sel = 0
	for i := range st.jobs {
		j := &st.jobs[i]
		if !strings.Contains(strings.ToLower(j.Name), needle) {
			continue
		}
		if j.Name == keep {
			st.jobCur.sel = len(st.shown)
		}
		st.shown = append(st.shown, j)
	}
	st.fit()
}

// setRuns takes the runs view's job and its latest runs, read at now (a
// nil job, renamed or deleted meanwhile, leaves the one read before). The
// selection stays on the run it was on: new runs come in at the top.
func (st *uiState) setRuns(job *jobState, runs []*Run, now time.Time) {
	if job != nil {
		st.job = uiJob{jobState: job, report: job.health(now)}
	}
	if r := st.selectedRun(); r != nil {
		for i, n := range runs {
			if n.ID == r.ID {
				st.runCur.sel = i
			}
		}
	}
	st.now, st.runs = now, runs
	st.fit()
}

// selectedRun is the run the runs view's selection is on; nil for none.
func (st *uiState) selectedRun() *Run {
	if len(st.runs) == 0 {
		return nil
	}
	return st.runs[st.runCur.sel]
}

// openLog shows the log of run r, from its end.
func (st *uiState) openLog(r *Run) {
	st.view = viewLog
	st.log = uiLog{run: r, follow: true}
	st.fit()
}

// setLogRun takes the log view's run as read at now: its status tells
// whether there is more output to wait for.
func (st *uiState) setLogRun(r *Run, now time.Time) {
	st.now, st.log.run = now, r
}

// appendLog adds output of the log view's run, as read from its log.
func (st *uiState) appendLog(b []byte) {
	st.log.append(b)
	st.fit()
}

// killTarget is the run K would kill: the runs view's selection, or the
// log view's run; nil in the jobs view.
func (st *uiState) killTarget() *Run {
	switch st.view {
	case viewRuns:
		return st.selectedRun()
	case viewLog:
		return st.log.run
	}
	return nil
}

// key applies a key to the state and says what else it asks for.
func (st *uiState) key(k key) uiAction {
	if k.code == keyCtrlC {
		return actQuit
	}
	st.message = ""
	if st.confirm != nil {
		if k.is('y') || k.is('Y') {
			return actKill // tui.go takes the run from confirm
		}
		st.confirm = nil
		st.message = "not confirmed; no signal sent"
		return actNone
	}
	if st.filtering {
		return st.filterKey(k)
	}
	if st.move(k) {
		return actNone
	}
	switch {
	case k.is('q'):
		return actQuit
	case k.code == keyEnter:
		return st.enter()
	case k.code == keyEsc:
		return st.back()
	case k.is('/') && st.view == viewJobs:
		st.filtering = true
	case k.is('K') && st.killTarget() != nil:
		return actAskKill
	}
	return actNone
}

// filterKey applies a key typed while the filter is being typed: text
// edits it, Enter keeps it, Esc clears it, and the arrows still move.
func (st *uiState) filterKey(k key) uiAction {
	switch k.code {
	case keyRune:
		st.setFilter(st.filter + string(k.r))
	case keyBackspace:
		_, size := utf8.DecodeLastRuneInString(st.filter)
		st.setFilter(st.filter[:len(st.filter)-size])
	case keyEnter:
		st.filtering = false
	case keyEsc:
		st.filtering = false
		st.setFilter("")
	default:
		st.move(k)
	}
	return actNone
}

// move applies the keys that move the selection, or scroll the log, and
// reports whether k was one of them.
func (st *uiState) move(k key) bool {
	const far = 1 << 30 // to either end, however long the list
	var delta int
	page := st.tableRows()
	if st.view == viewLog {
		page = st.logRows()
	}
	switch {
	case k.code == keyUp || k.is('k'):
		delta = -1
	case k.code == keyDown || k.is('j'):
		delta = 1
	case k.code == keyPgUp:
		delta = -page
	case k.code == keyPgDn:
		delta = page
	case k.code == keyHome || k.is('g'):
		delta = -far
	case k.code == keyEnd || k.is('G'):
		delta = far
	default:
		return false
	}
	switch st.view {
	case viewJobs:
		st.jobCur.move(delta, len(st.shown), page)
	case viewRuns:
		st.runCur.move(delta, len(st.runs), page)
	case viewLog:
		st.log.scroll(delta, page)
	}
	return true
}

// enter opens what the selection is on: a job's runs, a run's log.
func (st *uiState) enter() uiAction {
	switch {
	case st.view == viewJobs && len(st.shown) > 0:
		st.job = *st.shown[st.jobCur.sel]
		st.view, st.runs, st.runCur = viewRuns, nil, uiCursor{}
		return actLoad
	case st.view == viewRuns && len(st.runs) > 0:
		return actOpenLog
	}
	return actNone
}

// back goes back one level; in the jobs view it clears the filter.
func (st *uiState) back() uiAction {
	switch st.view {
	case viewJobs:
		st.setFilter("")
		return actNone
	case viewRuns:
		st.view = viewJobs
	case viewLog:
		st.view, st.log = viewRuns, uiLog{}
	}
	return actLoad
}

// killQuestion is the footer's question before K signals run r: the
// question first, so that a narrow screen cuts only the command.
func killQuestion(r *Run) string {
	return fmt.Sprintf("Send SIGTERM to run %d of %s (process group %d)? [y/N]  %s", r.ID, r.Job, r.PID, r.Command)
}

// uiLog is the log view's copy of a run's log: its last lines, made
// printable, as they are written.
type uiLog struct {
	run      *Run
	lines    []string // complete lines, printable, at most uiLogLines
	partial  []byte   // the last line, while no newline has ended it
	cut      bool     // earlier output is not held
	skipping bool     // the next bytes start inside a line: drop them up to its end
	top      int      // the first line on screen
	follow   bool     // keep the end on screen as lines come
}

// append adds output read from the log.
func (l *uiLog) append(b []byte) {
	if l.skipping {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		b, l.skipping = b[i+1:], false
	}
	for line := range bytes.Lines(b) {
		text, ended := bytes.CutSuffix(line, []byte("\n"))
		l.take(text)
		if ended {
			l.lines = append(l.lines, printable(l.partial))
			l.partial = l.partial[:0]
		}
	}
	if drop := len(l.lines) - uiLogLines; drop > 0 {
		l.lines = append(l.lines[:0], l.lines[drop:]...)
		l.top, l.cut = max(0, l.top-drop), true
	}
}

// take adds b to the line being read, as far as uiLineBytes.
func (l *uiLog) take(b []byte) {
	l.partial = append(l.partial, b[:min(len(b), uiLineBytes-len(l.partial))]...)
}

// skip forgets what the log view holds: what follows is read from further
// on in the log, maybe from inside a line.
func (l *uiLog) skip() {
	l.lines, l.partial = nil, nil
	l.cut, l.skipping = true, true
}

// length is how many lines there are to show, the partial one included.
func (l *uiLog) length() int {
	if len(l.partial) > 0 {
		return len(l.lines) + 1
	}
	return len(l.lines)
}

// scroll moves the lines on screen by delta; at the end, they follow.
func (l *uiLog) scroll(delta, rows int) {
	last := max(0, l.length()-rows)
	l.top = max(0, min(l.top+delta, last))
	l.follow = l.top == last
}

// fit keeps the lines on screen inside the log, at its end when following.
func (l *uiLog) fit(rows int) {
	last := max(0, l.length()-rows)
	if l.follow {
		l.top = last
	}
	l.top = max(0, min(l.top, last))
}

// printable makes a line of a job's output safe to show: what a terminal
// would show after its last carriage return (a progress bar redraws its
// line with them), with termText's escaping, so that a job's output can
// neither move troc's cursor nor change its colours.
func printable(b []byte) string {
	b = bytes.TrimSuffix(b, []byte("\r"))
	if i := bytes.LastIndexByte(b, '\r'); i >= 0 {
		b = b[i+1:]
	}
	return termText(string(b))
}

// keyCode names the keys troc ui knows.
type keyCode int

const (
	keyRune keyCode = iota // a character: key.r
	keyUp
	keyDown
	keyPgUp
	keyPgDn
	keyHome
	keyEnd
	keyEnter
	keyEsc
	keyBackspace
	keyCtrlC
	keyOther // a control character or escape sequence troc ui does not use
)

// key is one key press.
type key struct {
	code keyCode
	r    rune // for keyRune
}

// is reports whether k is the character r.
func (k key) is(r rune) bool { return k.code == keyRune && k.r == r }

// csiKeys are the keys of the escape sequences terminals send, by what
// follows "ESC [" or "ESC O".
var csiKeys = map[string]keyCode{
	"A": keyUp, "B": keyDown, "5~": keyPgUp, "6~": keyPgDn,
	"H": keyHome, "1~": keyHome, "7~": keyHome,
	"F": keyEnd, "4~": keyEnd, "8~": keyEnd,
}

// parseKeys reads the keys in b, what one read of the terminal returned.
// A terminal sends an escape sequence in one write, so an ESC alone at
// the end of a read is the Esc key. (A sequence split across two reads,
// possible over a slow link, reads as Esc and then characters; the worst
// that does is go back one level.)
func parseKeys(b []byte) []key {
	var keys []key
	for len(b) > 0 {
		c := b[0]
		switch {
		case c == 0x1b && len(b) > 2 && (b[1] == '[' || b[1] == 'O'):
			// Parameters and intermediates, then a final byte in @ to ~.
			end := 2
			for end < len(b) && (b[end] < 0x40 || b[end] > 0x7e) {
				end++
			}
			code, ok := csiKeys[string(b[2:min(end+1, len(b))])]
			if !ok {
				code = keyOther
			}
			keys = append(keys, key{code: code})
			b = b[min(end+1, len(b)):]
			continue
		case c == 0x1b:
			keys = append(keys, key{code: keyEsc})
		case c == '\r' || c == '\n':
			keys = append(keys, key{code: keyEnter})
		case c == 0x7f || c == 0x08:
			keys = append(keys, key{code: keyBackspace})
		case c == 0x03:
			keys = append(keys, key{code: keyCtrlC})
		case c < 0x20:
			keys = append(keys, key{code: keyOther})
		default:
			r, size := utf8.DecodeRune(b)
			keys = append(keys, key{code: keyRune, r: r})
			b = b[size:]
			continue
		}
		b = b[1:]
	}
	return keys
}
