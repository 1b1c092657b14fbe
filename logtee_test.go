package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
