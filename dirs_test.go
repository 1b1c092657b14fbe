package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrustDir(t *testing.T) {
	tests := []struct {
		name   string
		mode   os.FileMode // of the directory
		parent os.FileMode // of the directory above it
		owner  int         // of the directory; -1: this user's
		err    string
	}{
		{name: "private", mode: 0o700, parent: 0o700, owner: -1},
		{name: "owner only writes", mode: 0o755, parent: 0o755, owner: -1},
		{name: "group writable", mode: 0o770, parent: 0o700, owner: -1, err: "is writable by other users (mode 0770)"},
		{name: "world writable", mode: os.ModeSticky | 0o777, parent: 0o700, owner: -1, err: "is writable by other users"},
		{name: "under a sticky shared directory", mode: 0o700, parent: os.ModeSticky | 0o777, owner: -1},
		{name: "under a shared directory", mode: 0o700, parent: 0o777, owner: -1, err: "is writable by every user and not sticky"},
		{name: "someone else's", mode: 0o755, parent: 0o755, owner: 65534, err: "belongs to another user (uid 65534)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "p")
			dir := filepath.Join(parent, "d")
			os.MkdirAll(dir, 0o700)
			os.Chmod(dir, tt.mode)
			os.Chmod(parent, tt.parent)
			if tt.owner >= 0 {
				needRoot(t)
				if err := os.Chown(dir, tt.owner, tt.owner); err != nil {
					t.Fatal(err)
				}
			}
			err := trustDir(dir)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("trustDir = %v, want nil", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("trustDir = %v, want an error containing %q", err, tt.err)
			}
		})
	}
	// A symlink is judged by where it leads, with the directories above.
	target := filepath.Join(t.TempDir(), "target")
	os.Mkdir(target, 0o777)
	os.Chmod(target, 0o777)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(target, link)
	if err := trustDir(link); err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("trustDir(link to an open directory) = %v, want an error", err)
	}
	// So is a directory reached through a symlink above it: the walk up
	// from the path as given must not take the link for the directory.
	open := filepath.Join(t.TempDir(), "open")
	os.MkdirAll(filepath.Join(open, "d"), 0o700)
	os.Chmod(open, 0o777)
	via := filepath.Join(t.TempDir(), "via")
	os.Symlink(open, via)
	if err := trustDir(filepath.Join(via, "d")); err == nil || !strings.Contains(err.Error(), open+", above it, is writable by every user") {
		t.Errorf("trustDir(a directory under a link to an open one) = %v, want an error naming %s", err, open)
	}
	// And one that is not there is an error, as lstat says it.
	if err := trustDir(filepath.Join(target, "gone", "d")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("trustDir(missing) = %v, want no such file", err)
	}
	// ownDir creates a directory that does not exist yet, private.
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := ownDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %04o, want 0700", fi.Mode().Perm())
	}
}

func TestPickDir(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o770)
	fallback := filepath.Join(t.TempDir(), "fallback")
	got, warnings := pickDir("logdir", open, fallback)
	if got != fallback || len(warnings) != 1 || !strings.Contains(warnings[0], "logdir "+open+" not used: ") ||
		!strings.HasSuffix(warnings[0], "; using "+fallback) {
		t.Errorf("pickDir = %q, %q; want the fallback and one warning naming both", got, warnings)
	}
	// A default that cannot be used passes to the next, in silence.
	if got, warnings := pickDir("logdir", open, open, fallback); got != fallback || len(warnings) != 0 {
		t.Errorf("pickDir = %q, %q; want the second default, no warning", got, warnings)
	}
}

func TestLogName(t *testing.T) {
	for name, want := range map[string]bool{
		"backup.20261201T220521Z.3oze0w.log":         true,
		"trocsys_backup_20261201T220521Z.dltgxx.log": true,
		"a.b-c.20261201T220521Z.000000.log":          true,
		"trocsys_a.b_20261201T220521Z.zzzzzz.log":    true,
		"backup.20261201T220521Z.3oze0w.log.1":       false,
		"passwd":                                     false,
		"backup.log":                                 false,
		"..20261201T220521Z.3oze0w.log":              false,
		"backup.20261201T220521Z.3OZE0W.log":         false,
		"backup_20261201T220521Z.3oze0w.log":         false,
		"trocsys_backup.20261201T220521Z.dltgxx.log": true, // a job named trocsys_backup
		"backup.20261201X220521Z.3oze0w.log":         false,
	} {
		if got := logName(name); got != want {
			t.Errorf("logName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCreatePrivateRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious"), 0o644)
	for _, name := range []string{"link", "dangling"} {
		path := filepath.Join(dir, name)
		dest := target
		if name == "dangling" {
			dest = filepath.Join(dir, "nowhere")
		}
		os.Symlink(dest, path)
		if f, err := createPrivate(path); err == nil {
			f.Close()
			t.Errorf("createPrivate(%s) followed the symlink", name)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Errorf("target = %q, want %q", b, "precious")
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("createPrivate created the dangling symlink's target")
	}
	f, err := createPrivate(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "new")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
}

// squat makes dir as another user would: theirs, mode 0755, so that they
// can plant anything in it.
func squat(t *testing.T, dir string) {
	t.Helper()
	needRoot(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// TestExecSquattedDirs: a lockdir or logdir that another user owns stops
// nothing: troc uses its own default instead, says so on stderr and in
// the run's note, and runs the job under its lock.
func TestExecSquattedDirs(t *testing.T) {
	s := newSandbox(t)
	theirs := filepath.Join(s.dir, "alice")
	squat(t, theirs)
	os.WriteFile(filepath.Join(theirs, "j.lock"), nil, 0o644)
	s.env = append(s.env, "TROC_LOCKDIR="+theirs, "TROC_LOGDIR="+theirs)
	res := s.troc("exec", "--name", "j", "echo ran")
	r := res.run(t)
	if r.LogFile != nil {
		t.Cleanup(func() { os.Remove(*r.LogFile); os.Remove(deref(r.SystemLogFile)) }) // in /var/log/troc
	}
	locks := filepath.Join(s.configDir(), "locks")
	for _, want := range []string{"lockdir " + theirs + " not used: " + theirs + " belongs to another user (uid 65534); using " + locks,
		"logdir " + theirs + " not used: "} {
		if !strings.Contains(res.stderr, want) || !strings.Contains(deref(r.Note), want) {
			t.Errorf("stderr and note lack %q\nnote: %s\nstderr:\n%s", want, deref(r.Note), res.stderr)
		}
	}
	if res.code != 0 || r.Status != StatusSucceeded || strings.HasPrefix(deref(r.LogFile), theirs) {
		t.Errorf("exit %d, %s, log %s; want 0, Succeeded, and the log elsewhere", res.code, r.Status, deref(r.LogFile))
	}
	if _, err := os.Stat(filepath.Join(locks, "j.lock")); err != nil {
		t.Errorf("the job ran without its own lock: %v", err)
	}
}

// TestSpoolOfOtherUser: spool files that another user planted (in a
// directory of theirs, or theirs in troc's) are not replayed, and a path
// in the history is deleted by retention only when it is a log troc made
// in a directory of its own.
func TestSpoolOfOtherUser(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "j", "true")
	precious := filepath.Join(s.dir, "precious")
	os.WriteFile(precious, []byte("keep"), 0o600)
	planted := Run{Job: "j", Status: StatusSucceeded, Start: time.Now().Add(-200 * 24 * time.Hour).Truncate(time.Millisecond),
		Host: "h", Command: "true", LogFile: precious, SpoolKey: "0123456789abcdef01234567"}
	planted.End = planted.Start.Add(time.Second)
	data, _ := json.Marshal(planted)
	spool := filepath.Join(s.configDir(), "spool")
	os.MkdirAll(spool, 0o700)
	path := filepath.Join(spool, planted.SpoolKey+".json")
	os.WriteFile(path, data, 0o600)
	needRoot(t)
	os.Chown(path, 65534, 65534)
	res := s.troc("run", "list")
	if !strings.Contains(res.stderr, "not troc's") || len(s.runs()) != 1 {
		t.Errorf("a spool file of another user's was replayed (%d runs)\n%s", len(s.runs()), res.stderr)
	}

	// The history itself names the file (written by hand, or by an older
	// troc): pruning the run leaves the file where it is.
	raw := openRaw(t, filepath.Join(s.configDir(), "troc.db"))
	if _, err := raw.Exec(`UPDATE runs SET log_file = ?, start_ms = start_ms - 200 * 86400000, end_ms = end_ms - 200 * 86400000`, precious); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	res = s.mustTroc(0, "prune", "--older-than", "90d")
	if contentOf(precious) != "keep" || !strings.Contains(res.stderr, "Not removing "+precious) {
		t.Errorf("prune deleted a file troc did not make, or did not say it left it\n%s", res.stderr)
	}
}

// TestExecDatabaseSymlink: a symlink at the database's path (a volume not
// mounted yet) is refused: nothing is created through it, the job runs
// and its run is spooled.
func TestExecDatabaseSymlink(t *testing.T) {
	s := newSandbox(t)
	os.MkdirAll(s.configDir(), 0o700)
	target := filepath.Join(s.dir, "volume", "troc.db")
	os.Symlink(target, filepath.Join(s.configDir(), "troc.db"))
	res := s.troc("exec", "--name", "j", "echo ran")
	if res.code != 0 || !strings.Contains(res.stderr, "a symlink") || !strings.Contains(res.stderr, "Run spooled to ") {
		t.Errorf("exit %d; want 0, the symlink refused and the run spooled\n%s", res.code, res.stderr)
	}
	if _, err := os.Lstat(filepath.Dir(target)); err == nil {
		t.Error("troc created something through the symlink")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(filepath.Join(s.configDir(), "troc.db"+suffix)); err == nil {
			t.Errorf("troc created troc.db%s beside the symlink", suffix)
		}
	}
}

// TestExecHistoryInOthersDir: a database in a directory another user owns
// is not opened (they could swap it for a symlink or a history of their
// own); the job runs and its run is spooled beside the logs.
func TestExecHistoryInOthersDir(t *testing.T) {
	s := newSandbox(t)
	theirs := filepath.Join(s.dir, "theirs")
	squat(t, theirs)
	s.env = append(s.env, "TROC_DATABASE="+filepath.Join(theirs, "troc.db"))
	res := s.troc("exec", "--name", "j", "echo ran")
	if res.code != 0 || !strings.Contains(res.stderr, "the history's directory is not troc's own: "+theirs+" belongs to another user") ||
		!strings.Contains(res.stderr, "Run spooled to "+filepath.Join(s.tmp, "spool")) {
		t.Errorf("exit %d; want 0, the directory refused and the run spooled beside the logs\n%s", res.code, res.stderr)
	}
	if entries, _ := os.ReadDir(theirs); len(entries) != 0 {
		t.Errorf("troc wrote into another user's directory: %v", entries)
	}
}
