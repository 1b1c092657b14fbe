package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// age moves the runs' start (and end) back by d, as if they ran then.
func (s *sandbox) age(d time.Duration, ids ...int64) {
	s.t.Helper()
	db := s.history()
	for _, id := range ids {
		if _, err := db.sql.Exec(`UPDATE runs SET start_ms = start_ms - ?1, end_ms = end_ms - ?1 WHERE id = ?2`, d.Milliseconds(), id); err != nil {
			s.t.Fatal(err)
		}
	}
}

// ids lists the history's run ids, oldest first.
func (s *sandbox) ids() string {
	s.t.Helper()
	var out []string
	for _, r := range s.runs() {
		out = append(out, strconv.FormatInt(r.ID, 10))
	}
	return strings.Join(out, " ")
}

// runFiles returns every file of the runs, by run id.
func (s *sandbox) runFiles() map[int64][]string {
	s.t.Helper()
	files := map[int64][]string{}
	for _, r := range s.runs() {
		for _, f := range []string{r.LogFile, r.SystemLogFile} {
			if f != "" {
				files[r.ID] = append(files[r.ID], f)
			}
		}
	}
	return files
}

// checkFiles fails the test unless exactly the files of the runs in keep
// exist, of all the files in files.
func checkFiles(t *testing.T, files map[int64][]string, keep string) {
	t.Helper()
	kept := map[string]bool{}
	for _, id := range strings.Fields(keep) {
		kept[id] = true
		if n, _ := strconv.ParseInt(id, 10, 64); len(files[n]) == 0 {
			t.Errorf("run %s has no files to check", id)
		}
	}
	for id, list := range files {
		for _, f := range list {
			_, err := os.Stat(f)
			if exists := err == nil; exists != kept[strconv.FormatInt(id, 10)] {
				t.Errorf("run %d's file %s: exists = %t, want %t", id, filepath.Base(f), exists, kept[strconv.FormatInt(id, 10)])
			}
		}
	}
}

func TestPrune(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_RETENTION_MAX_AGE=0") // no automatic retention here
	for i := 0; i < 4; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "a", "echo a")
	}
	for i := 0; i < 3; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "b", "echo b")
	}
	gate := filepath.Join(s.dir, "gate")
	job, _ := s.startJob("a", "while [ ! -e "+gate+" ]; do sleep 0.01; done")
	defer func() {
		os.WriteFile(gate, nil, 0o600)
		job.Wait()
	}()
	// Runs 1 and 2 (a), 5 and 6 (b) are 20 days old; so is 8, a's
	// Running run: it must survive everything.
	s.age(20*24*time.Hour, 1, 2, 5, 6, 8)
	files := s.runFiles()
	if len(files[1]) != 2 {
		t.Fatalf("run 1 has files %v, want a log and a system log", files[1])
	}

	res := s.mustTroc(0, "prune", "--older-than", "10d", "--dry-run")
	if !regexp.MustCompile(`^would delete 4 runs and 8 files, [\d.]+ (B|KiB)\n$`).MatchString(res.stdout) {
		t.Errorf("dry run: stdout = %q, want \"would delete 4 runs and 8 files, <size>\\n\"", res.stdout)
	}
	var dry pruneJSON
	jsonOf(t, s.mustTroc(0, "prune", "--older-than", "10d", "--dry-run", "--json"), &dry)
	if !dry.DryRun || dry.AtLeast || dry.Runs != 4 || dry.Files != 8 || dry.Bytes <= 0 {
		t.Errorf("dry run --json = %+v, want dry_run, 4 runs, 8 files and their bytes", dry)
	}
	if got := s.ids(); got != "1 2 3 4 5 6 7 8" {
		t.Errorf("after a dry run: runs %s, want 1 2 3 4 5 6 7 8", got)
	}
	checkFiles(t, files, "1 2 3 4 5 6 7 8")

	res = s.mustTroc(0, "prune", "--older-than", "10d", "--name", "b")
	if !regexp.MustCompile(`^deleted 2 runs and 4 files, `).MatchString(res.stdout) {
		t.Errorf("prune of b: stdout = %q, want it to start \"deleted 2 runs and 4 files, \"", res.stdout)
	}
	if got := s.ids(); got != "1 2 3 4 7 8" {
		t.Errorf("after pruning b: runs %s, want 1 2 3 4 7 8", got)
	}
	var done pruneJSON
	jsonOf(t, s.mustTroc(0, "prune", "--older-than", "10d", "--json"), &done)
	if done.DryRun || done.Runs != 2 || done.Files != 4 || done.Bytes <= 0 {
		t.Errorf("prune --json = %+v, want 2 runs, 4 files deleted", done)
	}
	if got := s.ids(); got != "3 4 7 8" {
		t.Errorf("after --older-than: runs %s, want 3 4 7 8", got)
	}
	checkFiles(t, files, "3 4 7 8")

	// --keep counts per job, Running runs too: a keeps 8, its newest, b
	// keeps 7.
	s.mustTroc(0, "prune", "--keep", "1")
	if got := s.ids(); got != "7 8" {
		t.Errorf("after --keep 1: runs %s, want 7 8", got)
	}
	checkFiles(t, files, "7 8")

	s.refuses([]misuse{
		{"no limit", []string{"prune"}, 2, "give --older-than, --keep or both"},
		{"bad age", []string{"prune", "--older-than", "ages"}, 2, `--older-than: invalid duration "ages"`},
		{"bad keep", []string{"prune", "--keep", "-3"}, 2, "invalid --keep -3"},
		{"unknown job", []string{"prune", "--keep", "1", "--name", "zzz"}, 1, `no job named "zzz"`},
	})
}

// TestRetention: troc exec applies retention.keep and retention.max_age
// to its job after each run, and to no other job.
func TestRetention(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_RETENTION_KEEP=2")
	for i := 0; i < 3; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "other", "true")
	}
	s.env = append(s.env, "TROC_RETENTION_KEEP=0")
	for i := 0; i < 2; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "keep", "true")
	}
	files := s.runFiles()
	s.env = append(s.env, "TROC_RETENTION_KEEP=2")
	s.mustTroc(0, "exec", "-q", "--name", "keep", "true")
	s.mustTroc(0, "exec", "-q", "--name", "keep", "true")
	// "other" ran with keep 2: its first run went after its third. "keep"
	// keeps its newest two.
	if got := s.ids(); got != "2 3 6 7" {
		t.Errorf("runs = %s, want 2 3 6 7", got)
	}
	checkFiles(t, files, "2 3")

	// The default max_age is 90 days.
	s.env = append(s.env, "TROC_RETENTION_KEEP=0")
	s.age(91*24*time.Hour, 6)
	s.age(89*24*time.Hour, 7)
	s.age(91*24*time.Hour, 2)
	s.mustTroc(0, "exec", "-q", "--name", "keep", "true")
	if got := s.ids(); got != "2 3 7 8" {
		t.Errorf("after max_age: runs = %s, want 2 3 7 8", got)
	}
}
