package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseStatusWords(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Status
		wantErr  string
	}{
		{name: "one", in: "failed", want: []Status{StatusFailed}},
		{name: "any case, spaces, canonical order", in: " TimedOut ,FAILED", want: []Status{StatusFailed, StatusTimedOut}},
		{name: "repeats", in: "failed,Failed", want: []Status{StatusFailed}},
		{name: "all", in: "running,skipped,succeeded,failed,terminated,timedout", want: Statuses},
		{name: "none", in: "None", want: []Status{}},
		{name: "unknown", in: "failed,faild", wantErr: `unknown status "faild": want a comma-separated list of running, skipped, succeeded, failed, terminated, timedout, or none`},
		{name: "empty", in: "", wantErr: `empty status in ""`},
		{name: "trailing comma", in: "failed,", wantErr: `empty status in "failed,"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusWords(tt.in, Statuses)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || got == nil {
				t.Errorf("parseStatusWords(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}
