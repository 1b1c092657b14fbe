package main

import (
	"strings"
	"testing"
)

// TestExecStderrFails: with --stderr-fails a run that wrote to stderr is
// Failed, noted "wrote to stderr", and troc exits 1 though the job exited
// 0; the log keeps both streams; without the flag nothing changes.
func TestExecStderrFails(t *testing.T) {
	s := newSandbox(t)
	for _, tc := range []struct {
		name, command string
		flags         []string
		wantExit      int
		wantStatus    string
		wantNote      bool
	}{
		{"quiet stderr", "echo out", []string{"--stderr-fails"}, 0, "Succeeded", false},
		{"stderr on exit 0", "echo out; echo oops >&2", []string{"--stderr-fails"}, 1, "Failed", true},
		{"stderr on exit 3", "echo oops >&2; exit 3", []string{"--stderr-fails"}, 3, "Failed", true},
		{"with --tee", "echo oops >&2", []string{"--stderr-fails", "--tee"}, 1, "Failed", true},
		{"without the flag", "echo oops >&2", nil, 0, "Succeeded", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.troc(append([]string{"exec", "--name", "chronic", tc.command}, tc.flags...)...)
			if res.code != tc.wantExit {
				t.Fatalf("exit = %d, want %d\n%s", res.code, tc.wantExit, res.stderr)
			}
			var r runJSON
			out := res.stdout
			if i := strings.LastIndex(out, "\n{"); i >= 0 { // --tee prints the output first
				out = out[i+1:]
			}
			jsonOf(t, result{stdout: out}, &r)
			if string(r.Status) != tc.wantStatus {
				t.Fatalf("status = %q, want %q", r.Status, tc.wantStatus)
			}
			if got := r.Note != nil && strings.Contains(*r.Note, "wrote to stderr"); got != tc.wantNote {
				t.Fatalf("note = %v, want \"wrote to stderr\": %v", deref(r.Note), tc.wantNote)
			}
			if log := fileContent(t, *r.LogFile); strings.Contains(tc.command, "oops") && !strings.Contains(log, "oops") {
				t.Fatalf("log = %q, want the stderr line", log)
			}
		})
	}
}
