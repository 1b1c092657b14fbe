package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"/usr/bin/x", "/usr/bin/x"},
		{"--flag=1", "--flag=1"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a;b", "'a;b'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// What it quotes, sh reads back unchanged.
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(tt.in)).Output()
		if err != nil || string(out) != tt.in {
			t.Errorf("sh read %s back as %q, %v; want %q", shellQuote(tt.in), out, err, tt.in)
		}
	}
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`troc exec --name a b`, "troc|exec|--name|a|b"},
		{`troc exec --name 'a b' "c \"d\" $x"`, `troc|exec|--name|a b|c "d" $x`},
		{`a\ b c`, "a b|c"},
		{`cd /x && troc exec --name y`, "cd|/x|&&|troc|exec|--name|y"},
		{`troc exec --name y; echo done|wc&`, "troc|exec|--name|y|;|echo|done|||wc|&"},
		{`troc exec --name y # a comment`, "troc|exec|--name|y"},
		{`echo a#b`, "echo|a#b"},
	} {
		got, err := shellWords(tc.in)
		if err != nil || strings.Join(got, "|") != tc.want {
			t.Errorf("shellWords(%q) = %q, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}
