package main

// History at a glance: a job's latest finished runs as a strip, oldest on
// the left, one character a run. In colour (a terminal, NO_COLOR unset)
// each run is a block in its status's colour (display.color.status.*),
// as high as its duration against the longest in the strip: ▁ for the
// shortest, █ for the longest. Without colour (NO_COLOR, a pipe, csv and
// tsv) each is its status's letter: . Succeeded, F Failed, S Skipped,
// T TimedOut, X Terminated. job list and ui show it; job show adds the
// durations' sparkline with their min, median and max.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// blocks are the heights of a strip's and a sparkline's characters.
var blocks = []rune("▁▂▃▄▅▆▇█")

// span is part of a cell in a colour of its own: one run of a strip.
type span struct {
	text  string
	color string
}

// strip is the cell of a job's recent runs: letters without colour,
// coloured blocks with it. A job without finished runs has "-".
func (d display) strip(recent []recentRun) cell {
	if len(recent) == 0 {
		return cell{text: "-"}
	}
	if !d.color {
		b := make([]byte, len(recent))
		for i, r := range recent {
			b[i] = statusLetters[r.Status]
		}
		return cell{text: string(b), newest: true}
	}
	heights := blockHeights(durations(recent))
	c := cell{spans: make([]span, len(recent)), newest: true}
	var text strings.Builder
	for i, r := range recent {
		code, _ := colorCode(d.cfg.Color[r.Status])
		ch := string(blocks[heights[i]])
		c.spans[i] = span{text: ch, color: code}
		text.WriteString(ch)
	}
	c.text = text.String()
	return c
}

// blockHeights is each duration's block, 0 to len(blocks)-1, in
// proportion to the longest of ds; all the lowest when none took time.
func blockHeights(ds []time.Duration) []int {
	longest := slices.Max(ds)
	out := make([]int, len(ds))
	if longest <= 0 {
		return out
	}
	top := len(blocks) - 1
	for i, d := range ds {
		out[i] = min(top, max(0, int((int64(d)*int64(top)+int64(longest)/2)/int64(longest))))
	}
	return out
}

// sparkline is the durations of runs as blocks, oldest first, with their
// min, median and max: "▁▇█▇▆ min 1.2s, median 47m10s, max 49m02s". Its
// runs are those that ran: a Skipped run took no time.
func sparkline(recent []recentRun) string {
	var ds []time.Duration
	for _, r := range recent {
		if r.Status != StatusSkipped {
			ds = append(ds, r.Duration)
		}
	}
	if len(ds) == 0 {
		return ""
	}
	var b strings.Builder
	for _, h := range blockHeights(ds) {
		b.WriteRune(blocks[h])
	}
	return fmt.Sprintf("%s  min %s, median %s, max %s", b.String(),
		formatDuration(slices.Min(ds)), formatDuration(medianDuration(ds)), formatDuration(slices.Max(ds)))
}

// stripCut is the strip c cut to its newest width runs.
func stripCut(c cell, width int) cell {
	n := textWidth(c.text)
	if n <= width {
		return c
	}
	if c.spans == nil {
		return cell{text: c.text[n-width:], newest: true}
	}
	out := cell{spans: c.spans[n-width:], newest: true}
	for _, s := range out.spans {
		out.text += s.text
	}
	return out
}

// recentJSON is one of a job's recent runs in job list and job show
// --json, oldest first.
type recentJSON struct {
	ID         int64  `json:"id"`
	Status     Status `json:"status"`
	DurationMS int64  `json:"duration_ms"`
}

// recentView is the recent runs as --json prints them; never null.
func recentView(recent []recentRun) []recentJSON {
	out := make([]recentJSON, len(recent))
	for i, r := range recent {
		out[i] = recentJSON{ID: r.ID, Status: r.Status, DurationMS: r.Duration.Milliseconds()}
	}
	return out
}

// recentFromView is the inverse of recentView (troc --host).
func recentFromView(v []recentJSON) []recentRun {
	out := make([]recentRun, len(v))
	for i, r := range v {
		out[i] = recentRun{ID: r.ID, Status: r.Status, Duration: time.Duration(r.DurationMS) * time.Millisecond}
	}
	return out
}

// fitStrips fits a table whose column col holds strips in width terminal
// columns (0: no limit, not a terminal): the strips lose their oldest
// runs first, and the column goes when fewer than 5 runs would be left.
func fitStrips(header []string, rows [][]cell, col, width int) ([]string, [][]cell) {
	if width <= 0 {
		return header, rows
	}
	widths := columnWidths(header, rows)
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	if total <= width {
		return header, rows
	}
	keep := widths[col] - (total - width)
	if keep < min(5, widths[col]) || keep < textWidth(header[col]) {
		header = slices.Delete(slices.Clone(header), col, col+1)
		for i, row := range rows {
			rows[i] = slices.Delete(row, col, col+1)
		}
		return header, rows
	}
	for _, row := range rows {
		row[col] = stripCut(row[col], keep)
	}
	return header, rows
}

// writeCell writes a cell of troc's own (a strip, a health) in its
// colours, outside a table.
func writeCell(w io.Writer, c cell) {
	switch {
	case c.spans != nil:
		for _, s := range c.spans {
			fmt.Fprintf(w, "\x1b[%sm%s\x1b[0m", s.color, s.text)
		}
	case c.color != "":
		fmt.Fprintf(w, "\x1b[%sm%s\x1b[0m", c.color, c.text)
	default:
		io.WriteString(w, c.text)
	}
}
