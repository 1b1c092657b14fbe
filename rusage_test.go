package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExecRecordsUsage: a run's rusage (the job and what it waited for)
// is in troc exec's JSON, in the history (run show), in job show with the
// median, in -q's summary and in the metrics.
func TestExecRecordsUsage(t *testing.T) {
	s := newSandbox(t)
	// A shell loop in a child the job waits for: its CPU counts.
	burn := `sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'`
	r := s.mustTroc(0, "exec", "--name", "burn", burn).run(t)
	u := r.Resources
	if u == nil {
		t.Fatalf("resources = null, want the run's usage")
	}
	if u.UserCPUMS+u.SystemCPUMS < 20 || u.MaxRSSBytes < 100<<10 || u.VolSwitches+u.InvolSwitches == 0 {
		t.Fatalf("resources = %+v, want CPU >= 20ms, max rss >= 100 KiB, some context switches", *u)
	}

	var shown runShowJSON
	jsonOf(t, s.mustTroc(0, "run", "show", "-r", strconv.FormatInt(*r.ID, 10)), &shown)
	if shown.Resources == nil || *shown.Resources != *u {
		t.Fatalf("run show resources = %+v, want %+v", shown.Resources, *u)
	}

	s.mustTroc(0, "exec", "--name", "burn", "true")
	var show jobShowJSON
	jsonOf(t, s.mustTroc(0, "job", "show", "--name", "burn", "--json"), &show)
	if show.Resources == nil || show.Resources.MedianOf != 2 || show.Resources.Last.UserCPUMS > u.UserCPUMS {
		t.Fatalf("job show resources = %+v, want the last run's (true) and a median of 2", show.Resources)
	}
	if out := s.mustTroc(0, "job", "show", "--name", "burn").stdout; !strings.Contains(out, "median of 2: cpu ") {
		t.Fatalf("job show lacks the median usage:\n%s", out)
	}

	quiet := s.mustTroc(1, "exec", "-q", "--name", "burn", "false").stdout
	if !strings.Contains(quiet, "\nresources: cpu ") {
		t.Fatalf("-q summary lacks the resources line:\n%s", quiet)
	}

	metrics := s.mustTroc(0, "metrics").stdout
	for _, want := range []string{`troc_job_last_run_cpu_seconds{job="burn",`, `troc_job_last_run_max_rss_bytes{job="burn",`,
		`troc_job_last_run_blocks{job="burn",`, `",direction="out"} `, `troc_job_last_run_context_switches{job="burn",`, `",kind="voluntary"} `} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if r := s.runs()[0]; r.Usage == nil {
		t.Errorf("run %d (false) has no usage", r.ID)
	}
}

// TestSpoolKeepsUsage: a run spooled (the history would not take it) and
// replayed keeps its usage.
func TestSpoolKeepsUsage(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	r := finishedRun("spooled")
	r.Usage = &Usage{UserCPU: 1500 * time.Millisecond, SystemCPU: 20 * time.Millisecond, MaxRSS: 4 << 20,
		BlocksIn: 1, BlocksOut: 2, VolSwitches: 3, InvolSwitches: 4}
	f.spool(t, r)
	f.replay(ctx)
	got, err := f.db.getRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Usage == nil || *got.Usage != *r.Usage {
		t.Fatalf("replayed usage = %+v, want %+v", got.Usage, *r.Usage)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want int64
	}{{nil, 0}, {[]int64{5}, 5}, {[]int64{3, 1, 2}, 2}, {[]int64{4, 1, 3, 2}, 2}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
