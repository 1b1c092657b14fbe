package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTailLines(t *testing.T) {
	var many strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&many, "line %d\n", i)
	}
	tests := []struct {
		name, content string
		n             int
		want          string
	}{
		{"empty", "", 20, ""},
		{"fewer lines", "a\nb\n", 20, "a\nb\n"},
		{"exact", "a\nb\nc\n", 3, "a\nb\nc\n"},
		{"more lines", "a\nb\nc\nd\n", 2, "c\nd\n"},
		{"no final newline", "a\nb\nc", 2, "b\nc"},
		{"across blocks", many.String(), 3, "line 4998\nline 4999\nline 5000\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			os.WriteFile(path, []byte(tt.content), 0o600)
			got, err := tailLines(path, tt.n)
			if err != nil || string(got) != tt.want {
				t.Errorf("tailLines = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// writeSlowly writes data to fd in 4 KB pieces with a pause between them
// (a raw nanosleep: Go's timers would round it up to a millisecond), as a
// job that writes a lot in small pieces does, so that the copier keeps
// finding its pipe empty.
func writeSlowly(t *testing.T, fd int, data []byte, pause time.Duration) error {
	ts := syscall.NsecToTimespec(int64(pause))
	for len(data) > 0 {
		n, err := syscall.Write(fd, data[:min(4096, len(data))])
		if err != nil {
			return err
		}
		data = data[n:]
		syscall.Nanosleep(&ts, nil)
	}
	return nil
}

// jobWriteEnd returns a second descriptor for the pipe end a job would get, so
// that a test can write to it as the job after capture.start closed
// troc's copy.
func jobWriteEnd(t *testing.T, c *capture) int {
	t.Helper()
	fd, err := syscall.Dup(int(c.stdout().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// A job that writes a lot in small pieces has its output logged whole and
// in order while the copier naps between reads (see nap).
func TestCaptureNapsOnBulkOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	log, err := createPrivate(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCapture(log, path, false, false, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := jobWriteEnd(t, c)
	c.start()
	want := make([]byte, 12<<20)
	rand.NewChaCha8([32]byte{1}).Read(want)
	if err := writeSlowly(t, w, want, 20*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	syscall.Close(w)
	total, note := c.finish()
	if total != int64(len(want)) || note != "" {
		t.Errorf("finish = %d, %q; want %d, no note", total, note, len(want))
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the log (%d bytes) differs from the output (%d bytes)", len(got), len(want))
	}
	if s := c.streams[0]; !s.canNap || s.naps == 0 {
		t.Errorf("canNap, naps = %v, %d; want true and some: the copier never napped", s.canNap, s.naps)
	}
}

// A job's child that keeps writing as fast as it can after the job has
// exited does not keep troc from finishing: the copier, napping between
// the child's writes, goes back to the poller once finish begins, and the
// poller tells it to stop.
func TestCaptureFinishesWhileAChildWrites(t *testing.T) {
	c, err := newCapture(nil, "", false, false, nil, nil) // no log: what yes writes is only drained
	if err != nil {
		t.Fatal(err)
	}
	yes := exec.Command("yes")
	yes.Stdout = c.stdout()
	if err := yes.Start(); err != nil {
		t.Fatal(err)
	}
	defer yes.Process.Kill()
	c.start()
	time.Sleep(100 * time.Millisecond) // well past bulkAfter: the copier naps
	finished := make(chan int64, 1)
	go func() {
		total, _ := c.finish()
		finished <- total
	}()
	select {
	case total := <-finished:
		if total < bulkAfter {
			t.Errorf("finish = %d bytes, want at least %d", total, bulkAfter)
		}
	case <-time.After(20 * time.Second):
		yes.Process.Kill() // the copier then sees end-of-file
		<-finished
		t.Fatal("finish did not return while the child was writing")
	}
	// With troc's end of the pipe closed, yes ends of SIGPIPE.
	err = yes.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGPIPE {
		t.Errorf("yes ended with %v, want SIGPIPE", err)
	}
}
