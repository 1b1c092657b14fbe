package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestExecEnvironment runs real jobs with each environment flag and
// reads back, from the job itself, what it got.
func TestExecEnvironment(t *testing.T) {
	s := newSandbox(t)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "backup.env")
	if err := os.WriteFile(envFile, []byte("# for the backup\nTARGET=\"/srv/backup dir\"\nHOME=/elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "show.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho script in $(pwd)\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		command string
		want    string // in the job's output
		env     string // the run's environment, as recorded
	}{
		{"env-file", []string{"--env-file", envFile}, `echo "$TARGET|$HOME"`, "/srv/backup dir|/elsewhere\n", "--env-file " + envFile},
		{"cwd", []string{"--cwd", dir}, "pwd", dir + "\n", "--cwd " + dir},
		{"nice", []string{"--nice", "7"}, "nice", "7\n", "--nice 7"},
		{"ionice", []string{"--ionice", "idle"}, "ionice -p $$", "idle\n", "--ionice idle"},
		{"ionice level", []string{"--ionice", "be:6"}, "ionice -p $$", "best-effort: prio 6\n", "--ionice best-effort:6"},
		{"umask", []string{"--umask", "027"}, "umask", "0027\n", "--umask 0027"},
		{"all", []string{"--umask", "0777", "--nice", "3", "--cwd", dir}, "umask; nice; pwd", "0777\n3\n" + dir + "\n", "--cwd " + dir + " --nice 3 --umask 0777"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.mustTroc(0, append(append([]string{"exec", "--name", "env"}, tc.args...), tc.command)...)
			r := res.run(t)
			if got := fileContent(t, deref(r.LogFile)); got != tc.want {
				t.Errorf("the job said %q, want %q", got, tc.want)
			}
			if deref(r.Environment) != tc.env {
				t.Errorf("environment = %q, want %q", deref(r.Environment), tc.env)
			}
			// troc's own files keep troc's umask, whatever the job's.
			if fi, err := os.Stat(deref(r.LogFile)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("log file mode %v (%v), want 0600", fi.Mode(), err)
			}
		})
	}
	t.Run("umask stays the job's", func(t *testing.T) {
		// The second attempt's log is made after the first fork: a umask
		// that leaked from the job's thread into troc would show there.
		s.troc("exec", "--name", "umasked", "--umask", "0777", "--retry", "1", "--retry-delay", "10ms", "exit 1")
		runs := s.runs()
		last := runs[len(runs)-1]
		if last.Job != "umasked" || last.Attempt != 2 {
			t.Fatalf("last run: %s, attempt %d; want umasked's second attempt", last.Job, last.Attempt)
		}
		if fi, err := os.Stat(last.LogFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the second attempt's log: mode %v (%v), want 0600", fi.Mode(), err)
		}
	})
	t.Run("relative program in cwd", func(t *testing.T) {
		r := s.mustTroc(0, "exec", "--name", "env", "--cwd", dir, "--", "./show.sh").run(t)
		if got := fileContent(t, deref(r.LogFile)); got != "script in "+dir+"\n" {
			t.Errorf("the job said %q", got)
		}
	})
	t.Run("missing cwd", func(t *testing.T) {
		res := s.troc("exec", "--name", "env", "--cwd", filepath.Join(dir, "gone"), "true")
		if r := res.run(t); res.code != exitSetup || r.Status != StatusFailed || !strings.Contains(deref(r.Note), "gone: no such file or directory") {
			t.Errorf("exit %d, status %s, note %q; want %d, Failed, why", res.code, r.Status, deref(r.Note), exitSetup)
		}
	})

	before := len(s.runs())
	// The bad line holds the secret: an error must name the line, never
	// quote it.
	os.WriteFile(filepath.Join(dir, "secret.env"), []byte("OK=1\nTOKEN hunter2\n"), 0o600)
	// Files another user could write or swap, or that would hold troc.
	os.WriteFile(filepath.Join(dir, "shared.env"), []byte("A=1\n"), 0o600)
	os.Chmod(filepath.Join(dir, "shared.env"), 0o620)
	os.Symlink(filepath.Join(dir, "shared.env"), filepath.Join(dir, "link.env"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.env"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	os.WriteFile(filepath.Join(open, "a.env"), []byte("A=1\n"), 0o600)
	s.refuses([]misuse{
		{name: "unreadable env file", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(dir, "none.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(dir, "none.env") + ": no such file or directory"},
		{name: "bad env file", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(dir, "secret.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(dir, "secret.env") + ": line 2: no '='"},
		{name: "group-writable env file", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(dir, "shared.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(dir, "shared.env") + ": not read: it is writable by other users (mode 0620)"},
		{name: "env file a symlink", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(dir, "link.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(dir, "link.env") + ": not a regular file (a symlink); troc does not follow it"},
		{name: "env file a FIFO", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(dir, "fifo.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(dir, "fifo.env") + ": not a regular file (a named pipe); troc does not open it"},
		{name: "env file in an open directory", args: []string{"exec", "--name", "env", "--env-file", filepath.Join(open, "a.env"), "true"}, code: exitConfig,
			want: "--env-file " + filepath.Join(open, "a.env") + ": not read: " + open + " is writable by other users (mode 0777)"},
		{name: "nice", args: []string{"exec", "--name", "env", "--nice", "20", "true"}, code: exitUsage, want: `--nice: "20" is not a niceness`},
		{name: "ionice", args: []string{"exec", "--name", "env", "--ionice", "fast", "true"}, code: exitUsage, want: `--ionice: unknown class "fast"`},
		{name: "ionice idle level", args: []string{"exec", "--name", "env", "--ionice", "idle:3", "true"}, code: exitUsage, want: `--ionice: the idle class has no level`},
		{name: "umask", args: []string{"exec", "--name", "env", "--umask", "0999", "true"}, code: exitUsage, want: `--umask: "0999" is not an octal mode`},
	})
	t.Run("another user's env file", func(t *testing.T) {
		needRoot(t)
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		others := filepath.Join(dir, "others.env")
		os.WriteFile(others, []byte("A=1\n"), 0o600)
		if err := os.Chown(others, uid, -1); err != nil {
			t.Fatal(err)
		}
		s.refuses([]misuse{{name: "refused", args: []string{"exec", "--name", "env", "--env-file", others, "true"}, code: exitConfig,
			want: "--env-file " + others + ": not read: it belongs to another user"}})
	})
	if after := len(s.runs()); after != before {
		t.Errorf("%d runs recorded for refused command lines, want none", after-before)
	}
	if res := s.troc("exec", "--name", "env", "--env-file", filepath.Join(dir, "secret.env"), "true"); strings.Contains(res.stderr, "hunter2") {
		t.Errorf("the env file's content is in troc's error: %s", res.stderr)
	}
}

// TestJobEnvironmentSettings: the environment flags as a job's settings,
// which exec's flags override ("" for none), shown by job show.
func TestJobEnvironmentSettings(t *testing.T) {
	s := newSandbox(t)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "job.env")
	os.WriteFile(envFile, []byte("WHO=job\n"), 0o600)
	s.mustTroc(0, "job", "add", "--name", "j", "--env-file", envFile, "--cwd", dir, "--nice", "5", "--ionice", "idle", "--umask", "077")
	show := s.mustTroc(0, "job", "show", "--name", "j").stdout
	for _, want := range []string{"env file:      " + envFile, "directory:     " + dir, "nice:          5", "ionice:        idle", "umask:         0077"} {
		if !strings.Contains(show, want) {
			t.Errorf("job show lacks %q:\n%s", want, show)
		}
	}
	job := "echo $WHO; pwd; nice; ionice -p $$; umask"
	for _, tc := range []struct {
		name string
		args []string
		want string
		env  string
	}{
		{"the job's", nil, "job\n" + dir + "\n5\nidle\n0077\n", "--env-file " + envFile + " --cwd " + dir + " --nice 5 --ionice idle --umask 0077"},
		{"flags over", []string{"--nice", "2", "--umask", "022", "--env-file", "", "--cwd", "/"}, "\n/\n2\nidle\n0022\n", "--cwd / --nice 2 --ionice idle --umask 0022"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.mustTroc(0, append(append([]string{"exec", "--name", "j"}, tc.args...), job)...).run(t)
			if got := fileContent(t, deref(r.LogFile)); got != tc.want {
				t.Errorf("the job said %q, want %q", got, tc.want)
			}
			if deref(r.Environment) != tc.env {
				t.Errorf("environment = %q, want %q", deref(r.Environment), tc.env)
			}
		})
	}
	// A job's env file that has gone makes a run that could not be set up.
	os.Remove(envFile)
	res := s.troc("exec", "--name", "j", "true")
	if r := res.run(t); res.code != exitSetup || r.Status != StatusFailed || !strings.Contains(deref(r.Note), "job.env: no such file or directory") {
		t.Errorf("exit %d, status %s, note %q; want %d, Failed, why", res.code, r.Status, deref(r.Note), exitSetup)
	}
	s.mustTroc(0, "job", "update", "--name", "j", "--env-file", "", "--cwd", "", "--nice", "", "--ionice", "", "--umask", "")
	var v jobShowJSON
	jsonOf(t, s.mustTroc(0, "job", "show", "--name", "j", "--json"), &v)
	if c := v.controlJSON; c.EnvFile != nil || c.Cwd != nil || c.Nice != nil || c.IONice != nil || c.Umask != nil {
		t.Errorf("after clearing: %+v", c)
	}
	s.refuses([]misuse{
		{name: "unreadable env file", args: []string{"job", "update", "--name", "j", "--env-file", envFile}, code: exitConfig, want: "--env-file " + envFile + ": no such file"},
	})
}
