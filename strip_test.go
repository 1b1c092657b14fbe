package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// testRecent are runs of the given statuses and durations, oldest first.
func testRecent(statuses string, ds ...time.Duration) []recentRun {
	out := make([]recentRun, len(statuses))
	for i := range statuses {
		out[i] = recentRun{ID: int64(i + 1), Status: letterStatus(statuses[i])}
		if i < len(ds) {
			out[i].Duration = ds[i]
		}
	}
	return out
}

func TestStrip(t *testing.T) {
	s, m := time.Second, time.Minute
	recent := testRecent(".FSTX.", 48*m, 10*s, 0, 60*m, 30*m, 12*s)

	// Without colour: the letters.
	if got := testDisplay(false, true).strip(recent); got.text != ".FSTX." || got.spans != nil {
		t.Errorf("strip without colour = %+v, want .FSTX.", got)
	}
	if got := testDisplay(false, true).strip(nil); got.text != "-" {
		t.Errorf("strip of no runs = %q, want -", got.text)
	}
	// In colour: blocks as high as the duration, in the status's colour.
	got := testDisplay(true, true).strip(recent)
	if want := "▇▁▁█▅▁"; got.text != want {
		t.Errorf("blocks = %q, want %q", got.text, want)
	}
	green, _ := colorCode("green")
	red, _ := colorCode("red")
	if len(got.spans) != 6 || got.spans[0].color != green || got.spans[1].color != red {
		t.Errorf("spans = %+v, want green then red", got.spans)
	}
	if cut := stripCut(got, 2); cut.text != "▅▁" || len(cut.spans) != 2 {
		t.Errorf("cut to 2 = %+v, want the newest two", cut)
	}
	if got := sparkline(recent); got != "▇▁█▅▁  min 10.0s, median 30m00s, max 1h00m" {
		t.Errorf("sparkline = %q", got)
	}
}

// TestFitStrips: a table wider than the terminal loses the strips' oldest
// runs, then the column.
func TestFitStrips(t *testing.T) {
	rows := func() [][]cell {
		return [][]cell{{{text: "backup"}, {text: strings.Repeat(".", 20), newest: true}}, {{text: "db"}, {text: "F.", newest: true}}}
	}
	header := []string{"JOB", "RECENT"}
	for _, tc := range []struct {
		width int
		want  []string // the cells of the first row
	}{
		{0, []string{"backup", strings.Repeat(".", 20)}},
		{28, []string{"backup", strings.Repeat(".", 20)}},
		{20, []string{"backup", strings.Repeat(".", 12)}},
		{14, []string{"backup", strings.Repeat(".", 6)}},
		{12, []string{"backup"}},
	} {
		h, r := fitStrips(header, rows(), 1, tc.width)
		var got []string
		for _, c := range r[0] {
			got = append(got, c.text)
		}
		if !slices.Equal(got, tc.want) || len(h) != len(tc.want) {
			t.Errorf("width %d: %v %q, want %q", tc.width, h, got, tc.want)
		}
	}
}

// TestStripE2E: job list shows each job's latest runs as letters (no
// terminal here), --json as recent_runs; job show adds the sparkline.
func TestStripE2E(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "-q", "--name", "j", "true")
	s.mustTroc(1, "exec", "-q", "--name", "j", "false")
	s.mustTroc(0, "exec", "-q", "--name", "j", "sleep 0.2")
	out := s.mustTroc(0, "job", "list").stdout
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), "RECENT") || !strings.HasSuffix(strings.TrimSpace(lines[1]), ".F.") {
		t.Fatalf("job list:\n%s", out)
	}
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	got, _ := json.Marshal(jobs[0].RecentRuns)
	if len(jobs[0].RecentRuns) != 3 || jobs[0].RecentRuns[1].Status != StatusFailed || jobs[0].RecentRuns[2].DurationMS < 200 {
		t.Fatalf("recent_runs = %s", got)
	}
	show := s.mustTroc(0, "job", "show", "--name", "j").stdout
	if !strings.Contains(show, "last runs:     .F.\n") || !strings.Contains(show, "durations:     ") || !strings.Contains(show, "median ") {
		t.Fatalf("job show:\n%s", show)
	}
	if csv := s.mustTroc(0, "job", "list", "--format", "csv").stdout; !strings.Contains(csv, ",RECENT\n") || !strings.Contains(csv, ",.F.\n") {
		t.Fatalf("csv:\n%s", csv)
	}
}

// TestUIStrip: the jobs view shows the strip where it fits beside the
// other columns, and leaves it out rather than squeeze them.
func TestUIStrip(t *testing.T) {
	jobs := testJobs()
	jobs[0].Recent = testRecent(".F.S", time.Second, 2*time.Second, time.Second, 0)
	for _, tc := range []struct {
		width int
		want  bool
	}{{160, true}, {80, false}} {
		st := newUIState(testDisplay(false, true), tc.width, 24)
		st.setJobs(jobs, uiNow)
		lines := frameLines(t, st)
		if got := strings.HasSuffix(strings.TrimRight(lines[1], " "), "RECENT") && strings.HasSuffix(strings.TrimRight(lines[2], " "), ".F.S"); got != tc.want {
			t.Errorf("at %d columns, strip shown = %v, want %v:\n%s\n%s", tc.width, got, tc.want, lines[1], lines[2])
		}
	}
}

// TestRecentForgetsDeletedRuns: runs that retention or prune deletes
// leave the job's recent runs too: the strip shows only runs the history
// keeps.
func TestRecentForgetsDeletedRuns(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_RETENTION_KEEP=2")
	for i := 0; i < 4; i++ {
		s.mustTroc(0, "exec", "--name", "short", "true")
	}
	kept := map[int64]bool{}
	for _, r := range s.runs() {
		kept[r.ID] = true
	}
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	if len(jobs) != 1 || len(jobs[0].RecentRuns) != len(kept) {
		t.Fatalf("recent_runs %+v, want the %d runs kept", jobs, len(kept))
	}
	for _, r := range jobs[0].RecentRuns {
		if !kept[r.ID] {
			t.Errorf("recent run %d is not in the history any more", r.ID)
		}
	}
}
