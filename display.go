package main

// How runs and jobs look to people: tables with statuses in colour and
// emoji, times and durations short enough to scan. Scripts use --json and
// never see any of it. Colour is used only when stdout is a terminal and
// NO_COLOR (https://no-color.org) is unset, so a table piped into grep or
// a file never carries escape codes.

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// statusEmoji is the emoji shown before a status. Each is two columns
// wide in a terminal.
var statusEmoji = map[Status]string{
	StatusRunning:    "🔄",
	StatusSkipped:    "⏩",
	StatusSucceeded:  "✅",
	StatusFailed:     "❌",
	StatusTerminated: "🛑",
	StatusTimedOut:   "⏰",
}

// display formats statuses, times and tables for a person.
type display struct {
	color  bool // write ANSI colours
	emoji  bool
	cfg    DisplayConfig
	loc    *time.Location
	format outputFormat // tables as csv or tsv (format.go); "": a table
	width  int          // the terminal's width; 0: not a terminal
}

// newDisplay returns the display for output to w, following the config.
func (h *history) newDisplay(w io.Writer) display { return h.a.newDisplay(h.cfg, w) }

// newDisplay returns the display for output to w, following cfg.
func (a *app) newDisplay(cfg *Config, w io.Writer) display {
	_, noColor := a.env("NO_COLOR")
	f, isFile := w.(*os.File)
	d := display{
		color: isFile && isTerminal(f) && !noColor,
		emoji: cfg.Display.Emoji,
		cfg:   cfg.Display,
		loc:   cfg.location(),
	}
	if isFile && isTerminal(f) {
		d.width, _ = termSize(f)
	}
	return d
}

// cell is one table cell: its text, and the ANSI code it is shown in;
// or, for a strip (strip.go), spans of their own colours that make up its
// text.
type cell struct {
	text   string
	color  string
	spans  []span
	newest bool // a strip: cut on the left, keeping its newest runs
}

// status is a status's cell.
func (d display) status(s Status) cell {
	text := string(s)
	if d.emoji && statusEmoji[s] != "" {
		text = statusEmoji[s] + " " + text
	}
	c := cell{text: text}
	if d.color {
		c.color, _ = colorCode(d.cfg.Color[s])
	}
	return c
}

// health is a health state's cell: green when ok, red when it needs
// attention, in the colour of skipped runs (yellow) when suspect, plain
// when new.
func (d display) health(h Health) cell {
	c := cell{text: string(h)}
	if d.color {
		switch h {
		case HealthOK:
			c.color, _ = colorCode(d.cfg.Color[StatusSucceeded])
		case HealthLate, HealthFailing, HealthStuck:
			c.color, _ = colorCode(d.cfg.Color[StatusFailed])
		case HealthSuspect:
			c.color, _ = colorCode(d.cfg.Color[StatusSkipped])
		}
	}
	return c
}

// time formats t to the second in the display's zone; "-" for none.
func (d display) time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(d.loc).Format("2006-01-02 15:04:05")
}

// withHosts puts a HOST column first, hosts[i] in row i, when the rows
// come from several hosts (troc --host); nil hosts changes nothing.
func withHosts(header []string, rows [][]cell, hosts []string) ([]string, [][]cell) {
	if hosts == nil {
		return header, rows
	}
	for i := range rows {
		rows[i] = append([]cell{{text: hosts[i]}}, rows[i]...)
	}
	return append([]string{"HOST"}, header...), rows
}

// columnWidths is the width of each column of a table: its widest cell,
// or its header's.
func columnWidths(header []string, rows [][]cell) []int {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = textWidth(h)
	}
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], textWidth(c.text))
		}
	}
	return widths
}

// writeTable writes rows under a header, columns two spaces apart, each
// padded to its widest cell (emoji count two columns), colour codes added
// after padding so they never shift a column.
func writeTable(w io.Writer, header []string, rows [][]cell) error {
	rows = escapedCells(rows)
	widths := columnWidths(header, rows)
	var b strings.Builder
	line := func(cells []cell) {
		for i, c := range cells {
			text := c.text
			if i < len(cells)-1 {
				text += strings.Repeat(" ", widths[i]-textWidth(c.text)+2)
			}
			switch {
			case c.spans != nil:
				for _, s := range c.spans {
					b.WriteString("\x1b[" + s.color + "m" + s.text + "\x1b[0m")
				}
				text = text[len(c.text):]
			case c.color != "":
				text = "\x1b[" + c.color + "m" + strings.TrimRight(text, " ") + "\x1b[0m" +
					text[len(strings.TrimRight(text, " ")):]
			}
			b.WriteString(text)
		}
		b.WriteByte('\n')
	}
	hc := make([]cell, len(header))
	for i, h := range header {
		hc[i] = cell{text: h}
	}
	line(hc)
	for _, row := range rows {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// termLines is a writer that passes what it is given on to w a line at a
// time, through termText: for text that another program (ssh, a remote
// troc) writes as it goes. flush writes a last line without its line
// feed.
type termLines struct {
	w   io.Writer
	buf []byte
}

func (t *termLines) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(t.buf[:i], []byte("\r"))
		if _, err := io.WriteString(t.w, termText(string(line))+"\n"); err != nil {
			return len(p), err
		}
		t.buf = t.buf[i+1:]
	}
	return len(p), nil
}

func (t *termLines) flush() {
	if len(t.buf) > 0 {
		io.WriteString(t.w, termText(string(t.buf)))
		t.buf = nil
	}
}

// escapedCells returns rows with every cell's text through termText:
// table cells hold names, commands and notes from jobs, the history and
// other hosts.
func escapedCells(rows [][]cell) [][]cell {
	out := make([][]cell, len(rows))
	for i, row := range rows {
		out[i] = make([]cell, len(row))
		for j, c := range row {
			c.text = termText(c.text) // spans are troc's own blocks
			out[i][j] = c
		}
	}
	return out
}

// textWidth is how many terminal columns s takes: one per rune, two for
// the emoji troc shows. (Job names are ASCII; no other wide text appears
// in its tables.)
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1F300 || r == '⏩' || r == '⏰' || r == '✅' || r == '❌' {
			n++
		}
	}
	return n
}

// termText makes text from outside troc (a job's name, description or
// command, a note, what a remote host said) safe to show on a terminal,
// as troc ui shows it: tabs as spaces to the next multiple of 8, every
// other control character (C0, DEL, C1: what starts or ends an escape
// sequence, a line break, a carriage return) as "?", invalid UTF-8 as
// U+FFFD. A terminal then shows the text, and does nothing it says.
// --json, csv and tsv output is never passed through it: scripts get the
// text exactly.
func termText(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch {
		case r == '\t':
			n := 8 - col%8
			b.WriteString("        "[:n])
			col += n
			continue
		case r < 0x20 || r >= 0x7f && r < 0xa0: // C0 and C1 controls, DEL
			r = '?'
		}
		b.WriteRune(r) // an invalid byte becomes U+FFFD
		col++
	}
	return b.String()
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
