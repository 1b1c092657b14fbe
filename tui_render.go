package main

// Drawing troc ui. A frame is a function of the state alone (its size
// included), so that it can be tested and measured without a terminal.
// It is written whole, in one write: cursor home, then every line of the
// screen, each ended by erase-to-end-of-line where it does not fill the
// width. Nothing is cleared first, so nothing flickers. No line is wider
// than the screen: all text goes through frameWriter, which cuts it at
// the right edge. A table that does not fit first drops the year and the
// seconds of its times, then cuts long job names, then leaves out columns
// from the right.
//
// Colour follows the display (NO_COLOR, display.color.*): statuses and
// health in their colours, the selected row in reverse video, titles in
// bold. Without colour the frame holds no escape sequence but cursor home
// and erase, and the selected row is marked by its ">" alone.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	uiGap       = 2  // spaces between the columns of a table
	uiMarker    = 2  // the column before a table's rows: "> " on the selected one
	uiLongTime  = 19 // "2006-01-02 15:04:05", as display.time writes it
	uiShortTime = 11 // "01-02 15:04", when the long form does not fit
	uiDuration  = 8  // "47h59m…", a running run's; a longer one is cut
)

// The footer's help, by view.
const (
	uiHelpJobs   = "Enter runs   / filter   j/k move   PgUp/PgDn page   q quit"
	uiHelpFilter = "Enter runs   / filter   Esc clear filter   j/k move   PgUp/PgDn page   q quit"
	uiHelpRuns   = "Enter log   K kill   Esc back   j/k move   PgUp/PgDn page   q quit"
	uiHelpLog    = "K kill   Esc back   j/k scroll   PgUp/PgDn page   g/G top/end   q quit"
)

// render writes the state's frame into b.
func (st *uiState) render(b *bytes.Buffer) {
	f := &frameWriter{b: b, width: st.width, height: st.height, color: st.disp.color}
	b.WriteString("\x1b[H")
	switch st.view {
	case viewJobs:
		st.renderJobs(f)
	case viewRuns:
		st.renderRuns(f)
	case viewLog:
		st.renderLog(f)
	}
	st.renderFooter(f)
}

// renderJobs draws the jobs view: the title, then the table of jobs.
func (st *uiState) renderJobs(f *frameWriter) {
	title := "troc ui  " + plural(len(st.jobs), "job")
	switch {
	case len(st.jobs) == 0:
		title = "troc ui  no jobs yet: troc exec --name NAME COMMAND runs the first"
	case st.filter != "":
		title = fmt.Sprintf("troc ui  %d of %s match %q", len(st.shown), plural(len(st.jobs), "job"), st.filter)
	}
	st.title(f, cell{text: title})

	// The name column is as wide as the longest name shown, not only on
	// screen, so that it keeps its width while the list scrolls.
	nameWidth := textWidth("JOB")
	for _, j := range st.shown {
		nameWidth = max(nameWidth, textWidth(j.Name))
	}
	healthWidth := textWidth("HEALTH")
	for _, h := range Healths {
		healthWidth = max(healthWidth, textWidth(string(h)))
	}
	statusWidth := st.statusWidth("LAST")
	stripWidth := textWidth("RECENT")
	for _, j := range st.shown {
		stripWidth = max(stripWidth, len(j.recentRuns()))
	}
	columns := func(timeWidth int) []uiColumn {
		cols := []uiColumn{
			{"JOB", nameWidth, min(nameWidth, 12)},
			{"HEALTH", healthWidth, healthWidth},
			{"LAST", statusWidth, statusWidth},
			{"STARTED", timeWidth, timeWidth},
			{"DURATION", uiDuration, uiDuration},
			{"NEXT", timeWidth, timeWidth},
		}
		// The strip of recent runs only where it fits beside the rest at
		// their full width: it never squeezes them.
		if strip := append(cols, uiColumn{"RECENT", stripWidth, stripWidth}); fits(strip, f.width-uiMarker) {
			return strip
		}
		return cols
	}
	st.renderTable(f, columns, len(st.shown), st.jobCur, func(i int, short bool) []cell {
		// The strip's cell is last: a table without its column leaves it.
		j := st.shown[i]
		last := []cell{{text: "-"}, {text: "-"}, {text: "-"}}
		if r := j.LastRun; r != nil {
			last = []cell{st.disp.status(r.Status), {text: st.time(r.Start, short)}, {text: runDuration(r, st.now)}}
		}
		return append(append([]cell{{text: j.Name}, st.disp.health(j.report.Health)}, last...),
			cell{text: st.time(j.report.Next, short)}, st.disp.strip(j.Recent))
	})
}

// renderRuns draws the runs view: the job and its health, then the table
// of its latest runs.
func (st *uiState) renderRuns(f *frameWriter) {
	count := plural(len(st.runs), "run")
	if len(st.runs) == uiRuns {
		count = "latest " + count
	}
	why := ""
	if r := st.job.report.Reason; r != "" {
		why = ": " + r // what is wrong, or what is next
	}
	st.title(f, cell{text: "troc ui  jobs > " + st.job.Name + "  "}, st.disp.health(st.job.report.Health), cell{text: why + "  " + count})

	idWidth, exitWidth := textWidth("ID"), textWidth("EXIT")
	for _, r := range st.runs {
		idWidth = max(idWidth, len(strconv.FormatInt(r.ID, 10)))
		exitWidth = max(exitWidth, textWidth(runExit(r)))
	}
	statusWidth := st.statusWidth("STATUS")
	columns := func(timeWidth int) []uiColumn {
		return []uiColumn{
			{"ID", idWidth, idWidth},
			{"STATUS", statusWidth, statusWidth},
			{"START", timeWidth, timeWidth},
			{"DURATION", uiDuration, uiDuration},
			{"EXIT", exitWidth, exitWidth},
		}
	}
	st.renderTable(f, columns, len(st.runs), st.runCur, func(i int, short bool) []cell {
		r := st.runs[i]
		return []cell{
			{text: strconv.FormatInt(r.ID, 10)},
			st.disp.status(r.Status),
			{text: st.time(r.Start, short)},
			{text: runDuration(r, st.now)},
			{text: runExit(r)},
		}
	})
}

// renderLog draws the log view: the run, its state, then its log from
// the line at the top of the screen.
func (st *uiState) renderLog(f *frameWriter) {
	l, r := &st.log, st.log.run
	state := "  " + runDuration(r, st.now)
	if r.Status == StatusRunning && l.follow {
		state += "  following"
	}
	if l.cut {
		state += "  (the end of the log only)"
	}
	st.title(f, cell{text: fmt.Sprintf("troc ui  jobs > %s > run %d  ", r.Job, r.ID)}, st.disp.status(r.Status), cell{text: state})
	for i := l.top; i < l.top+st.logRows(); i++ {
		switch {
		case i == 0 && l.length() == 0 && r.Status == StatusRunning:
			f.put("(no output yet)", "")
		case i == 0 && l.length() == 0:
			f.put("(no output)", "")
		case i < len(l.lines):
			f.put(l.lines[i], "")
		case i == len(l.lines) && len(l.partial) > 0:
			f.put(printable(l.partial), "")
		}
		f.end()
	}
}

// renderFooter draws the last line: a question, the filter being typed,
// what the last action did, or else the keys of the view. What comes from
// outside (a command, an error naming a file) is made printable: a
// newline in it would break the frame.
func (st *uiState) renderFooter(f *frameWriter) {
	switch {
	case st.confirm != nil:
		f.attr("1")
		f.put(printable([]byte(killQuestion(st.confirm))), "")
		f.attr("22")
	case st.filtering:
		f.put("filter: "+st.filter+"_   Enter keep   Esc clear", "")
	case st.message != "":
		f.put(printable([]byte(st.message)), "")
	case st.view == viewJobs && st.filter != "":
		f.put(uiHelpFilter, "")
	case st.view == viewJobs:
		f.put(uiHelpJobs, "")
	case st.view == viewRuns:
		f.put(uiHelpRuns, "")
	default:
		f.put(uiHelpLog, "")
	}
	f.end()
}

// title draws the first line in bold: pieces on the left, and on the
// right, room permitting, the time the data was read, which shows that
// the screen is live.
func (st *uiState) title(f *frameWriter, pieces ...cell) {
	clock := st.now.In(st.disp.loc).Format("15:04:05")
	width := 0
	f.attr("1")
	for _, p := range pieces {
		f.put(p.text, p.color)
		width += textWidth(p.text)
	}
	if room := f.width - width - len(clock); room >= uiGap {
		f.pad(room)
		f.put(clock, "")
	}
	f.attr("22")
	f.end()
}

// renderTable draws a table under the title: the columns that columns
// makes, with whole times if they fit the width, else with short ones
// (short true), and the rows of a list of n that the cursor c has on
// screen, each made into cells by row.
func (st *uiState) renderTable(f *frameWriter, columns func(timeWidth int) []uiColumn, n int, c uiCursor, row func(i int, short bool) []cell) {
	cols, short := columns(uiLongTime), false
	if !fits(cols, f.width-uiMarker) {
		cols, short = columns(uiShortTime), true
	}
	rows := st.tableRows()
	cells := make([][]cell, min(rows, n-c.top))
	for i := range cells {
		cells[i] = row(c.top+i, short)
	}
	f.table(cols, cells, c.sel-c.top, rows)
}

// statusWidth is the width of a status column: its widest status, or its
// title.
func (st *uiState) statusWidth(title string) int {
	w := textWidth(title)
	for _, s := range Statuses {
		w = max(w, textWidth(st.disp.status(s).text))
	}
	return w
}

// time formats t as display.time does, or without the year and seconds
// when short.
func (st *uiState) time(t time.Time, short bool) string {
	s := st.disp.time(t)
	if short && len(s) == uiLongTime {
		return s[5:16]
	}
	return s
}

// uiColumn is a column of a table on screen.
type uiColumn struct {
	title string
	width int // the width of its widest cell, or of its title
	min   int // how narrow it may be cut, "…" marking the cut
}

// fits reports whether cols fit in width columns at their full width.
func fits(cols []uiColumn, width int) bool {
	total := -uiGap
	for _, c := range cols {
		total += c.width + uiGap
	}
	return total <= width
}

// fitColumns shares width among cols, uiGap apart: each gets its full
// width if they all fit; if not, columns are cut down to their minimum,
// the first first, then left out (width 0), the last first. The first
// column is never left out, only cut to the width.
func fitColumns(cols []uiColumn, width int) []int {
	widths := make([]int, len(cols))
	total := -uiGap
	for i, c := range cols {
		widths[i] = c.width
		total += c.width + uiGap
	}
	for i, c := range cols {
		if total <= width {
			break
		}
		cut := max(0, min(total-width, widths[i]-c.min))
		widths[i] -= cut
		total -= cut
	}
	for i := len(cols) - 1; i > 0 && total > width; i-- {
		total -= widths[i] + uiGap
		widths[i] = 0
	}
	if total > width {
		widths[0] = max(0, width)
	}
	return widths
}

// frameWriter writes the lines of a frame, each cut at the width, and
// nothing below the last line.
type frameWriter struct {
	b             *bytes.Buffer
	width, height int
	color         bool
	row, col      int // the line being written, and the columns used on it
}

// put writes s in the colour with SGR code color ("" for none), as much
// of it as fits on the line.
func (f *frameWriter) put(s, color string) {
	if f.row >= f.height || f.col >= f.width || s == "" {
		return
	}
	s, w := fitWidth(s, f.width-f.col)
	if f.color && color != "" {
		f.b.WriteString("\x1b[")
		f.b.WriteString(color)
		f.b.WriteString("m")
		f.b.WriteString(s)
		f.b.WriteString("\x1b[39m")
	} else {
		f.b.WriteString(s)
	}
	f.col += w
}

// spaces is what pad writes from.
var spaces = strings.Repeat(" ", 256)

// pad writes n spaces, as many as fit on the line.
func (f *frameWriter) pad(n int) {
	if f.row >= f.height {
		return
	}
	for n = min(n, f.width-f.col); n > 0; {
		k := min(n, len(spaces))
		f.b.WriteString(spaces[:k])
		n -= k
		f.col += k
	}
}

// attr switches an SGR attribute on or off (bold "1", reverse "7"; off
// "22", "27"), when the frame has colour.
func (f *frameWriter) attr(sgr string) {
	if f.color && f.row < f.height {
		f.b.WriteString("\x1b[")
		f.b.WriteString(sgr)
		f.b.WriteString("m")
	}
}

// end ends the line: it erases what an earlier frame left beyond the
// text, and moves to the next line unless this was the last. (A line that
// fills the width is not erased: the cursor sits on its last column, which
// an erase would blank.)
func (f *frameWriter) end() {
	if f.row >= f.height {
		return
	}
	if f.col < f.width {
		f.b.WriteString("\x1b[K")
	}
	f.row++
	f.col = 0
	if f.row < f.height {
		f.b.WriteString("\r\n")
	}
}

// table draws a table: the header, then rows (the rows on screen) with
// the one at sel marked, then empty lines down to height rows in all.
func (f *frameWriter) table(cols []uiColumn, rows [][]cell, sel, height int) {
	widths := fitColumns(cols, f.width-uiMarker)
	f.pad(uiMarker)
	f.attr("1")
	for i, c := range cols {
		f.cell(cell{text: c.title}, widths, i)
	}
	f.attr("22")
	f.end()
	for i := range height {
		if i < len(rows) {
			if i == sel {
				f.attr("7")
				f.put(">", "")
				f.pad(uiMarker - 1)
			} else {
				f.pad(uiMarker)
			}
			for j := range cols {
				f.cell(rows[i][j], widths, j)
			}
			if i == sel {
				f.pad(f.width - f.col) // the whole line in reverse
				f.attr("27")
			}
		}
		f.end()
	}
}

// cell writes c in column i, after the gap from the column before it,
// padded to the column's width; nothing for a column left out.
func (f *frameWriter) cell(c cell, widths []int, i int) {
	if widths[i] == 0 {
		return
	}
	if i > 0 {
		f.pad(uiGap)
	}
	if c.newest {
		c = stripCut(c, widths[i])
		for _, s := range c.spans {
			f.put(s.text, s.color)
		}
		if c.spans == nil {
			f.put(c.text, c.color)
		}
		f.pad(widths[i] - textWidth(c.text))
		return
	}
	text, w := fitWidth(c.text, widths[i])
	f.put(text, c.color)
	f.pad(widths[i] - w)
}

// fitWidth cuts s to at most n columns, marking the cut with "…", and
// returns it with the columns it takes.
func fitWidth(s string, n int) (string, int) {
	w := textWidth(s)
	if w <= n {
		return s, w
	}
	if n <= 0 {
		return "", 0
	}
	used := 0
	for i, r := range s {
		rw := textWidth(string(r))
		if used+rw > n-1 {
			return s[:i] + "…", used + 1
		}
		used += rw
	}
	return s, w
}
