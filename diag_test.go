package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestDeferredLog checks that lines logged through a deferredLog appear
// only when replayed, in their order, with their attributes and groups,
// and that a warning among them still counts for quiet mode.
func TestDeferredLog(t *testing.T) {
	var out bytes.Buffer
	d := &diag{stderr: &out}
	log := newLogger(d, false)
	held := newDeferredLog(log.Handler())
	bg := slog.New(held)
	bg.Info("first")
	bg.With("k", "v").WithGroup("g").Warn("second", "x", 1)
	log.Info("meanwhile")
	if got := out.String(); strings.Contains(got, "first") || !strings.Contains(got, "meanwhile") {
		t.Fatalf("before replay:\n%s", got)
	}
	held.replay(context.Background())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "msg=first") ||
		!strings.Contains(lines[2], "msg=second k=v g.x=1") || !strings.Contains(lines[2], "level=WARN") {
		t.Errorf("after replay:\n%s", out.String())
	}
	if warned, _ := d.quietReport(); !warned {
		t.Error("a replayed warning does not count as one")
	}
	held.replay(context.Background())
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("a second replay wrote again: %d lines", n)
	}
}
