package main

import (
	"bytes"
	"strings"
	"testing"
)

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
		t.Fatalf("%dx%d frame has %d lines, want %d:\n%s", st.width, st.height, len(lines), st.height, strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		line = sgrCode.ReplaceAllString(strings.ReplaceAll(line, "\x1b[K", ""), "")
		if strings.ContainsAny(line, "\x1b\r\n\t") {
			t.Errorf("%dx%d frame, line %d has a control character: %q", st.width, st.height, i+1, line)
		}
		if w := textWidth(line); w > st.width {
			t.Errorf("%dx%d frame, line %d is %d columns wide, want at most %d: %q", st.width, st.height, i+1, w, st.width, line)
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
		t.Errorf("without jobs, title = %q, want it to start with %q", lines[0], "troc ui  no jobs yet: troc exec --name NAME COMMAND")
	}

	// Wider, the times are whole and the name is not cut.
	st.setSize(160, 24)
	lines = frameLines(t, st)
	if !strings.Contains(lines[2], "2026-11-25 11:58:00") || !strings.Contains(lines[6], strings.Repeat("x", 60)+"-long") {
		t.Errorf("at 160 columns:\n%s\n%s\nwant the start time 2026-11-25 11:58:00 and the whole long name", lines[2], lines[6])
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
