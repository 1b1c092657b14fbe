package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var updateMetrics = flag.Bool("update-metrics", false, "rewrite the golden files under testdata/metrics")

// metricsNow is the time the test metrics are written at.
var metricsNow = time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)

// at is a time on metricsNow's day, from "15:04:05.000".
func at(t *testing.T, clock string) time.Time {
	t.Helper()
	c, err := time.Parse("15:04:05.000", clock)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 3, 1, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.UTC)
}

// metricsStates are jobs in every state a job can show, listed out of
// order, and the health each is given.
func metricsStates(t *testing.T) ([]*jobState, map[string]Health) {
	t.Helper()
	states := []*jobState{
		{
			Job:          Job{ID: 3, Name: "sync", LastSuccess: at(t, "10:00:59.999")},
			LastRun:      &Run{ID: 30, Status: StatusRunning, Start: at(t, "11:30:00.000")},
			RunningSince: at(t, "11:30:00.000"),
			Counts:       map[Status]int64{StatusSucceeded: 12},
		},
		{
			Job:     Job{ID: 1, Name: "backup", LastSuccess: at(t, "11:02:03.456")},
			LastRun: &Run{ID: 10, Status: StatusSucceeded, Start: at(t, "11:00:00.000"), End: at(t, "11:02:03.456"), ExitCode: ptr(0)},
			Counts:  map[Status]int64{StatusSucceeded: 41, StatusFailed: 2, StatusSkipped: 1},
		},
		{
			Job:     Job{ID: 2, Name: "report", LastSuccess: at(t, "06:00:01.250")},
			LastRun: &Run{ID: 20, Status: StatusFailed, Start: at(t, "11:45:00.000"), End: at(t, "11:45:00.007"), ExitCode: ptr(3)},
			Counts:  map[Status]int64{StatusSucceeded: 5, StatusFailed: 1},
		},
		{
			Job:     Job{ID: 4, Name: "rotate-logs"},
			LastRun: &Run{ID: 40, Status: StatusTerminated, Start: at(t, "03:00:00.000"), End: at(t, "03:10:00.000"), Signal: syscall.SIGTERM},
			Counts:  map[Status]int64{StatusTerminated: 1},
		},
		{
			Job:     Job{ID: 5, Name: "index.v2"},
			LastRun: &Run{ID: 50, Status: StatusTimedOut, Start: at(t, "09:00:00.000"), End: at(t, "10:00:00.001")},
			Counts:  map[Status]int64{StatusTimedOut: 7, StatusSucceeded: 1},
		},
		{Job: Job{ID: 6, Name: "cleanup"}},
	}
	healths := map[string]Health{
		"sync": HealthStuck, "backup": HealthOK, "report": HealthFailing,
		"rotate-logs": HealthFailing, "index.v2": HealthLate, "cleanup": HealthNew,
	}
	return states, healths
}

// TestWriteMetrics compares writeMetrics's output with
// testdata/metrics/NAME.prom (rewritten with -update-metrics), and checks
// it as Prometheus would: it parses, promlint finds nothing wrong, and
// each value says what it should.
func TestWriteMetrics(t *testing.T) {
	states, healths := metricsStates(t)
	tests := []struct {
		name   string
		states []*jobState
	}{
		{name: "basic", states: states},
		{name: "no-jobs", states: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := map[string]int{}
			health := func(s *jobState) healthReport {
				asked[s.Name]++
				return healthReport{Health: healths[s.Name]}
			}
			var b bytes.Buffer
			if err := writeMetrics(&b, "alice", tt.states, health, metricsNow); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			checkMetricsGolden(t, filepath.Join("testdata", "metrics", tt.name+".prom"), got)
			lintMetrics(t, got)
			families := parseMetrics(t, got)

			if v := sampleValue(t, families, "troc_metrics_generated_timestamp_seconds", map[string]string{"user": "alice"}); v != 1772366400.123 {
				t.Errorf("troc_metrics_generated_timestamp_seconds = %v, want 1772366400.123", v)
			}
			for _, s := range tt.states {
				if asked[s.Name] != 1 {
					t.Errorf("health of %s asked %d times, want once", s.Name, asked[s.Name])
				}
				checkJobMetrics(t, families, s, healths[s.Name])
			}
		})
	}
}

// checkJobMetrics checks the parsed metrics of one job against its state.
func checkJobMetrics(t *testing.T, families map[string]*dto.MetricFamily, s *jobState, h Health) {
	t.Helper()
	job := map[string]string{"job": s.Name, "user": "alice"}
	with := func(name, value string) map[string]string {
		return map[string]string{"job": s.Name, "user": "alice", name: value}
	}
	for _, hh := range Healths {
		if got, want := sampleValue(t, families, "troc_job_health", with("health", string(hh))), oneIf(hh == h); got != want {
			t.Errorf("%s: troc_job_health{health=%q} = %v, want %v", s.Name, hh, got, want)
		}
	}
	for _, st := range finalStatuses {
		if got, want := sampleValue(t, families, "troc_job_runs_total", with("status", string(st))), float64(s.Counts[st]); got != want {
			t.Errorf("%s: troc_job_runs_total{status=%q} = %v, want %v", s.Name, st, got, want)
		}
	}
	if got, want := sampleValue(t, families, "troc_job_running", job), oneIf(!s.RunningSince.IsZero()); got != want {
		t.Errorf("%s: troc_job_running = %v, want %v", s.Name, got, want)
	}

	// A sample that does not apply must be absent, not 0: want NaN.
	var (
		start, end, duration, exit = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		success                    = math.NaN()
	)
	if r := s.LastRun; r != nil {
		start = float64(r.Start.UnixMilli()) / 1000
		if !r.End.IsZero() {
			end = float64(r.End.UnixMilli()) / 1000
			duration = float64(r.End.Sub(r.Start).Milliseconds()) / 1000
		}
		if r.ExitCode != nil {
			exit = float64(*r.ExitCode)
		}
	}
	if !s.LastSuccess.IsZero() {
		success = float64(s.LastSuccess.UnixMilli()) / 1000
	}
	for _, m := range []struct {
		name string
		want float64
	}{
		{"troc_job_last_run_start_timestamp_seconds", start},
		{"troc_job_last_run_end_timestamp_seconds", end},
		{"troc_job_last_run_duration_seconds", duration},
		{"troc_job_last_run_exit_code", exit},
		{"troc_job_last_success_timestamp_seconds", success},
	} {
		got := sampleValue(t, families, m.name, job)
		if got != m.want && !(math.IsNaN(got) && math.IsNaN(m.want)) {
			t.Errorf("%s: %s = %v, want %v (NaN: absent)", s.Name, m.name, got, m.want)
		}
	}
	for _, st := range Statuses {
		want := math.NaN()
		if s.LastRun != nil {
			want = oneIf(s.LastRun.Status == st)
		}
		got := sampleValue(t, families, "troc_job_last_run_status", with("status", string(st)))
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("%s: troc_job_last_run_status{status=%q} = %v, want %v (NaN: absent)", s.Name, st, got, want)
		}
	}
}

// checkMetricsGolden compares got with the golden file, or rewrites the
// file with -update-metrics.
func checkMetricsGolden(t *testing.T, file, got string) {
	t.Helper()
	if *updateMetrics {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update-metrics to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

// lintMetrics fails the test for each problem that promlint, the linter of
// promtool check metrics, finds in text.
func lintMetrics(t *testing.T, text string) {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// parseMetrics parses text as Prometheus does, with the strict (legacy)
// name rules, and fails the test on an error, a family without HELP, or a
// series that appears twice.
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, text)
	}
	for name, f := range families {
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		seen := map[string]bool{}
		for _, m := range f.GetMetric() {
			key := fmt.Sprint(m.GetLabel())
			if seen[key] {
				t.Errorf("%s%s appears twice", name, key)
			}
			seen[key] = true
		}
	}
	return families
}

// sampleValue returns the value of the sample of the named family whose
// labels are exactly labels, or NaN when there is none.
func sampleValue(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		return math.NaN()
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s has type %v, want a counter or a gauge", name, f.GetType())
	}
	return math.NaN()
}

// TestWriteMetricsDuplicate checks that two states of one job are refused
// rather than written as duplicate series.
func TestWriteMetricsDuplicate(t *testing.T) {
	states := []*jobState{{Job: Job{Name: "a"}}, {Job: Job{Name: "b"}}, {Job: Job{Name: "a"}}}
	var b bytes.Buffer
	err := writeMetrics(&b, "alice", states, func(*jobState) healthReport { return healthReport{Health: HealthOK} }, metricsNow)
	if err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("error = %v, want one naming job \"a\"", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q, want nothing", b.String())
	}
}

func TestEscapeLabelValue(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "backup.daily-2", want: "backup.daily-2"},
		{name: "empty", in: "", want: ""},
		{name: "quote", in: `a"b`, want: `a\"b`},
		{name: "backslash", in: `a\b`, want: `a\\b`},
		{name: "newline", in: "a\nb", want: `a\nb`},
		{name: "all", in: "a\"b\\c\n", want: `a\"b\\c\n`},
		{name: "escape-looking", in: `\n`, want: `\\n`},
		{name: "utf8", in: "café\t", want: "café\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escapeLabelValue(tt.in); got != tt.want {
				t.Errorf("escapeLabelValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzEscapeLabelValue checks that any job name, once escaped, reads back
// unchanged through Prometheus's own parser.
func FuzzEscapeLabelValue(f *testing.F) {
	for _, s := range []string{"backup", "a\"b\\c\n", `\n`, `"`, "café", "}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			t.Skip("label values are UTF-8")
		}
		var b bytes.Buffer
		err := writeMetrics(&b, "alice", []*jobState{{Job: Job{Name: name}}}, func(*jobState) healthReport { return healthReport{Health: HealthOK} }, metricsNow)
		if err != nil {
			t.Fatal(err)
		}
		metrics := parseMetrics(t, b.String())["troc_job_running"].GetMetric()
		if len(metrics) != 1 {
			t.Fatalf("%d troc_job_running samples, want 1:\n%s", len(metrics), b.String())
		}
		var got []string
		for _, l := range metrics[0].GetLabel() {
			if l.GetName() == "job" {
				got = append(got, l.GetValue())
			}
		}
		if len(got) != 1 || got[0] != name {
			t.Fatalf("job label reads back as %q, want %q", got, name)
		}
	})
}

// TestWriteTextfile checks the file that writeTextfile leaves, and what it
// leaves when it fails: the old file and no temp file.
func TestWriteTextfile(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		file    string // in a new directory that holds troc.prom, "old"
		write   func(io.Writer) error
		wantErr string // "": success, and the file holds "new\n"
		isErr   error
	}{
		{name: "replace", file: "troc.prom"},
		{name: "create", file: "other.prom"},
		{name: "not-prom", file: "troc.txt", wantErr: "metrics.textfile"},
		{name: "prom-dir", file: "troc.prom/", wantErr: "metrics.textfile"},
		{name: "no-dir", file: "missing/troc.prom", wantErr: "missing"},
		{
			name: "write-fails", file: "troc.prom",
			write: func(w io.Writer) error { io.WriteString(w, "half"); return boom }, isErr: boom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			old := filepath.Join(dir, "troc.prom")
			if err := os.WriteFile(old, []byte("old\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.file)
			if strings.HasSuffix(tt.file, "/") {
				path += "/"
			}
			write := tt.write
			if write == nil {
				write = func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }
			}
			err := writeTextfile(path, write)

			var wantFiles []string
			switch {
			case tt.wantErr != "" || tt.isErr != nil:
				if err == nil {
					t.Fatalf("writeTextfile(%q) succeeded, want an error", path)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || tt.isErr != nil && !errors.Is(err, tt.isErr) {
					t.Errorf("error = %q, want one containing %q (and wrapping %v)", err, tt.wantErr, tt.isErr)
				}
				wantFiles = []string{"troc.prom"}
			default:
				if err != nil {
					t.Fatal(err)
				}
				wantFiles = []string{tt.file}
				if tt.file != "troc.prom" {
					wantFiles = append(wantFiles, "troc.prom")
				}
				checkFile(t, path, "new\n", 0o644)
			}
			if tt.file != "troc.prom" || err != nil {
				checkFile(t, old, "old\n", 0o600)
			}
			checkDir(t, dir, wantFiles...)
		})
	}
}

// TestWriteTextfileRelative checks that a path without a directory is
// written in the current directory, not in os.TempDir.
func TestWriteTextfileRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := writeTextfile("troc.prom", func(w io.Writer) error { _, err := io.WriteString(w, "x 1\n"); return err }); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, "troc.prom"), "x 1\n", 0o644)
	checkDir(t, dir, "troc.prom")
}

// TestWriteTextfileConcurrent rewrites one file from several goroutines at
// once, as troc exec processes finishing together do, while a reader
// parses it over and over as node_exporter would: every read must be a
// whole file that some writer wrote.
func TestWriteTextfileConcurrent(t *testing.T) {
	const writers, rewrites, jobs = 4, 25, 200
	path := filepath.Join(t.TempDir(), "troc.prom")
	write := func(writer int) func(io.Writer) error {
		states := make([]*jobState, jobs)
		for i := range states {
			states[i] = &jobState{Job: Job{Name: fmt.Sprintf("job%03d", i)}, Counts: map[Status]int64{StatusSucceeded: int64(writer)}}
		}
		return func(w io.Writer) error {
			return writeMetrics(w, "alice", states, func(*jobState) healthReport { return healthReport{Health: HealthOK} }, metricsNow)
		}
	}
	if err := writeTextfile(path, write(0)); err != nil {
		t.Fatal(err)
	}

	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
		errs = make(chan error, writers*rewrites)
	)
	for w := 1; w <= writers; w++ {
		wg.Go(func() {
			for range rewrites {
				if err := writeTextfile(path, write(w)); err != nil {
					errs <- err
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	reads := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // read once more: the final file
		default:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		families, err := p.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		runs := families["troc_job_runs_total"].GetMetric()
		if len(runs) != jobs*len(finalStatuses) {
			t.Fatalf("read %d: %d troc_job_runs_total series, want %d", reads, len(runs), jobs*len(finalStatuses))
		}
		// One writer's file, not a mix: every job has the same count.
		first := sampleValue(t, families, "troc_job_runs_total", map[string]string{"job": "job000", "user": "alice", "status": "Succeeded"})
		last := sampleValue(t, families, "troc_job_runs_total", map[string]string{"job": fmt.Sprintf("job%03d", jobs-1), "user": "alice", "status": "Succeeded"})
		if first != last {
			t.Fatalf("read %d: first job counts %v, last %v: a mix of two files", reads, first, last)
		}
		reads++
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkFile(t, path, "", 0o644)
	checkDir(t, filepath.Dir(path), "troc.prom")
	t.Logf("%d reads during %d rewrites", reads, writers*rewrites)
}

// checkFile checks a file's mode and, unless want is "", its content.
func checkFile(t *testing.T, path, want string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != mode {
		t.Errorf("%s: mode %04o, want %04o", path, got, mode)
	}
	if want == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

// checkDir checks that dir holds exactly the named files: no temp file
// left behind.
func checkDir(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(slices.Sorted(slices.Values(want))) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// TestMetricsConfig checks the metrics.textfile key: off by default, and
// a relative path is relative to the config file's directory.
func TestMetricsConfig(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string // with the config directory as CONFIGDIR
	}{
		{name: "default", file: "", want: ""},
		{name: "relative", file: "metrics:\n  textfile: troc.prom\n", want: "CONFIGDIR/troc.prom"},
		{name: "home", file: "metrics:\n  textfile: ~/textfile/troc.prom\n", want: "/home/troc/textfile/troc.prom"},
		{name: "empty", file: "metrics:\n  textfile: \"\"\n", want: ""},
		{name: "env", env: map[string]string{"TROC_METRICS_TEXTFILE": "/var/lib/node_exporter/troc.prom"}, want: "/var/lib/node_exporter/troc.prom"},
		{name: "env-off", file: "metrics:\n  textfile: troc.prom\n", env: map[string]string{"TROC_METRICS_TEXTFILE": ""}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file, 0o600)
			c, err := readConfig(path, testEnv(withEnv(tt.env)))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Metrics.Textfile
			if strings.HasPrefix(got, c.Dir+"/") {
				got = "CONFIGDIR" + got[len(c.Dir):]
			}
			if got != tt.want {
				t.Errorf("Metrics.Textfile = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMetricsTwoUsers: two users' textfiles in one node_exporter
// directory. node_exporter parses each *.prom file on its own and merges
// the families of the same name into one exposition, where a series two
// files both have clashes and is dropped. With the user label every
// series of each history is its own: both users' samples are there, none
// twice.
func TestMetricsTwoUsers(t *testing.T) {
	nobody := asUser(t, "nobody")
	textfiles := sharedDir(t)

	s := newSandbox(t)
	s.env = append(s.env, "TROC_METRICS_TEXTFILE="+filepath.Join(textfiles, "root.prom"))
	s.mustTroc(0, "exec", "-q", "--name", "backup", "true")

	home := sharedDir(t) // nobody has no home: its troc lives here
	env := []string{"TROC_CONFIG_PATH=" + filepath.Join(home, "config"), "TMPDIR=" + home,
		"TROC_METRICS_TEXTFILE=" + filepath.Join(textfiles, "nobody.prom")}
	if r := nobody.troc(env, "exec", "-q", "--name", "backup", "true"); r.code != 0 {
		t.Fatalf("troc exec as nobody: exit = %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}

	families := readTextfiles(t, textfiles)
	me := currentUser()
	for _, user := range []string{me, "nobody"} {
		if v := sampleValue(t, families, "troc_metrics_generated_timestamp_seconds", map[string]string{"user": user}); math.IsNaN(v) {
			t.Errorf("troc_metrics_generated_timestamp_seconds{user=%q} is missing", user)
		}
		labels := map[string]string{"job": "backup", "user": user, "status": "Succeeded"}
		if got := sampleValue(t, families, "troc_job_runs_total", labels); got != 1 {
			t.Errorf("troc_job_runs_total%v = %v, want 1", labels, got)
		}
	}
	if got := len(families["troc_job_health"].GetMetric()); got != 2*len(Healths) {
		t.Errorf("%d troc_job_health series, want %d: each user's", got, 2*len(Healths))
	}
}

// readTextfiles reads the *.prom files of dir as node_exporter's textfile
// collector does: each parsed on its own by Prometheus' parser, then the
// families of one name merged. It fails the test on a parse error, on
// families of one name whose HELP or TYPE disagree, and on a series that
// two files both have (the one node_exporter drops).
func readTextfiles(t *testing.T, dir string) map[string]*dto.MetricFamily {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.prom"))
	if err != nil || len(files) < 2 {
		t.Fatalf("textfiles in %s: %q, %v; want two", dir, files, err)
	}
	merged := map[string]*dto.MetricFamily{}
	seen := map[string]string{} // series: the file it came from
	for _, file := range files {
		text := fileContent(t, file)
		lintMetrics(t, text)
		for name, f := range parseMetrics(t, text) {
			m, ok := merged[name]
			switch {
			case !ok:
				merged[name] = f
			case m.GetHelp() != f.GetHelp() || m.GetType() != f.GetType():
				t.Errorf("%s: HELP or TYPE differ between files", name)
			default:
				m.Metric = append(m.Metric, f.Metric...)
			}
			for _, metric := range f.GetMetric() {
				key := name + fmt.Sprint(metric.GetLabel())
				if other, dup := seen[key]; dup {
					t.Errorf("%s is in both %s and %s: node_exporter would drop it", key, other, file)
				}
				seen[key] = file
			}
		}
	}
	return merged
}

// TestMetricsE2E: troc metrics prints the jobs' metrics, and troc exec and
// troc check keep the textfile current.
func TestMetricsE2E(t *testing.T) {
	s := newSandbox(t)
	prom := filepath.Join(s.dir, "troc.prom")
	s.env = append(s.env, "TROC_METRICS_TEXTFILE="+prom)
	s.mustTroc(0, "job", "add", "--name", "nightly", "--schedule", "@daily")
	s.mustTroc(0, "exec", "-q", "--name", "nightly", "true")
	s.mustTroc(3, "exec", "-q", "--name", "flaky", "exit 3")
	file := fileContent(t, prom)
	me := currentUser()
	for _, want := range []string{
		"# TYPE troc_job_runs_total counter\n",
		fmt.Sprintf(`troc_job_runs_total{job="nightly",user=%q,status="Succeeded"} 1`+"\n", me),
		fmt.Sprintf(`troc_job_runs_total{job="flaky",user=%q,status="Failed"} 1`+"\n", me),
		fmt.Sprintf(`troc_job_last_run_exit_code{job="flaky",user=%q} 3`+"\n", me),
		fmt.Sprintf(`troc_job_health{job="flaky",user=%q,health="failing"} 1`+"\n", me),
		fmt.Sprintf(`troc_job_health{job="nightly",user=%q,health="ok"} 1`+"\n", me),
		fmt.Sprintf(`troc_metrics_generated_timestamp_seconds{user=%q} `, me),
	} {
		if !strings.Contains(file, want) {
			t.Errorf("textfile lacks %q:\n%s", want, file)
		}
	}
	if fi, _ := os.Stat(prom); fi.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode = %v, want 0644", fi.Mode().Perm())
	}
	res := s.mustTroc(0, "metrics")
	if want := fmt.Sprintf(`troc_job_runs_total{job="flaky",user=%q,status="Failed"} 1`, me); !strings.Contains(res.stdout, want) {
		t.Errorf("troc metrics lack %s:\n%s", want, res.stdout)
	}
	os.Remove(prom)
	s.mustTroc(1, "check") // flaky is failing
	if want := fmt.Sprintf(`troc_job_health{job="nightly",user=%q,health="ok"} 1`, me); !strings.Contains(fileContent(t, prom), want) {
		t.Error("troc check did not rewrite the textfile")
	}
	// A path that is not a .prom file, which node_exporter would never
	// read, is refused before the job runs.
	s.env = append(s.env, "TROC_METRICS_TEXTFILE="+filepath.Join(s.dir, "troc.txt"))
	res = s.troc("exec", "--name", "nightly", "true")
	if want := "troc: TROC_METRICS_TEXTFILE: want a file name ending in .prom"; res.code != exitConfig || !strings.HasPrefix(res.stderr, want) {
		t.Errorf("exec with metrics.textfile troc.txt: exit %d, stderr:\n%s\nwant %d and %q", res.code, res.stderr, exitConfig, want)
	}
}
