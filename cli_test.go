package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY returns both ends of a new pseudo-terminal: what a user types
// into the master, a program reads from the slave, which is a terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no pseudo-terminals in CI, where the terminal tests must run:", err)
		}
		t.Skip("no pseudo-terminals here:", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatal(errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatal(errno)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestConfirm: on a terminal troc asks and takes only yes; without one
// there is nobody to ask.
func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{
		{"y\n", true}, {"yes\n", true}, {"Y\n", true},
		{"n\n", false}, {"\n", false}, {"sure\n", false},
	} {
		master, slave := openPTY(t)
		var stderr bytes.Buffer
		a := &app{stdin: slave, stderr: &stderr}
		master.WriteString(tc.answer)
		if got := a.confirm("Delete job x?"); got != tc.want {
			t.Errorf("answer %q: confirm = %t, want %t", tc.answer, got, tc.want)
		}
		if stderr.String() != "Delete job x? [y/N] " {
			t.Errorf("prompt = %q, want %q", stderr.String(), "Delete job x? [y/N] ")
		}
	}
	a := &app{stdin: bytes.NewReader(nil), stderr: &bytes.Buffer{}}
	if !a.confirm("Delete?") {
		t.Error("without a terminal, confirm = false, want true")
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	if a := (&app{stdin: devnull, stderr: &bytes.Buffer{}}); !a.confirm("Delete?") {
		t.Error("with /dev/null, confirm = false, want true")
	}
}

// TestFlagMistakes: an unknown flag, a flag without its value or an
// argument a command does not take is said in one line, with a hint that
// names the command's usage, and exits 2. The usage itself is not dumped:
// under cron it would bury the line that matters.
func TestFlagMistakes(t *testing.T) {
	s := newSandbox(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"exec", "--name", "x", "--bogus", "true"}, "troc: flag provided but not defined: -bogus\ntroc: hint: see troc exec -h\n"},
		{"missing value", []string{"exec", "--name"}, "troc: flag needs an argument: -name\ntroc: hint: see troc exec -h\n"},
		{"bad value", []string{"run", "list", "--limit", "x"}, "troc: invalid value \"x\" for flag -limit: parse error\ntroc: hint: see troc run list -h\n"},
		{"unexpected argument", []string{"check", "extra"}, "troc: unexpected argument \"extra\"\ntroc: hint: see troc check -h\n"},
		{"nothing to update", []string{"job", "update", "--name", "x"}, "troc: nothing to change: give a setting to update\ntroc: hint: see troc job update -h\n"},
		{"prune without a limit", []string{"prune"}, "troc: give --older-than, --keep or both: nothing is pruned without a limit\ntroc: hint: see troc prune -h\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.troc(tc.args...)
			if r.code != exitUsage || r.stderr != tc.want || r.stdout != "" {
				t.Errorf("troc %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing on stdout, stderr:\n%s", tc.args, r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
	// -h still prints the usage, on stdout.
	if r := s.troc("exec", "-h"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage:\n") || r.stderr != "" {
		t.Errorf("troc exec -h: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", r.code, r.stdout, r.stderr)
	}
}

// TestVersionJSON: troc version --json, for scripts.
func TestVersionJSON(t *testing.T) {
	s := newSandbox(t)
	var v versionJSON
	jsonOf(t, s.troc("version", "--json"), &v)
	if want := (versionJSON{Version: version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}); v != want {
		t.Errorf("version --json = %+v, want %+v", v, want)
	}
	if r := s.troc("version"); r.code != 0 || r.stdout != "troc "+version+"\n" {
		t.Errorf("version: exit, stdout = %d, %q; want 0, %q", r.code, r.stdout, "troc "+version+"\n")
	}
}

func TestVersion(t *testing.T) {
	s := newSandbox(t)
	for _, arg := range []string{"--version", "version"} {
		res := s.troc(arg)
		if res.code != 0 || !strings.HasPrefix(res.stdout, "troc ") {
			t.Errorf("%s: exit, stdout = %d, %q; want 0, one starting \"troc \"", arg, res.code, res.stdout)
		}
	}
	if res := s.troc("frobnicate"); res.code != exitUsage || !strings.Contains(res.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit, stderr = %d, %q; want %d, it to contain %q", res.code, res.stderr, exitUsage, `unknown command "frobnicate"`)
	}
}
