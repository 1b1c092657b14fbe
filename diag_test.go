package main

import (
	"bytes"
	"testing"
)

// TestWarnTracker checks that a warning counts for quiet mode however it
// is logged, through a logger made with With or WithGroup too.
func TestWarnTracker(t *testing.T) {
	for name, warn := range map[string]func(d *diag){
		"plain":     func(d *diag) { newLogger(d, false).Warn("w") },
		"With":      func(d *diag) { newLogger(d, false).With("k", "v").Warn("w") },
		"WithGroup": func(d *diag) { newLogger(d, true).WithGroup("g").Warn("w", "x", 1) },
	} {
		d := &diag{stderr: &bytes.Buffer{}}
		newLogger(d, false).Info("fine")
		if warned, _ := d.quietReport(); warned {
			t.Fatalf("%s: an info line counts as a warning", name)
		}
		warn(d)
		if warned, _ := d.quietReport(); !warned {
			t.Errorf("%s: the warning does not count", name)
		}
	}
}
