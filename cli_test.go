package main

import (
	"bytes"
	"os"
	"strconv"
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
			t.Errorf("prompt = %q", stderr.String())
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
