package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestExitStatusesDocumented holds README.md's table of exit statuses and
// the constants in cli.go to each other.
func TestExitStatusesDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllSubmatch(readme, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		documented[n] = true
	}
	codes := []int{exitOK, exitError, exitUsage, exitSetup, exitSkipped, exitConfig, exitTimedOut, exitNoExec, exitNotFound}
	for _, c := range codes {
		if !documented[c] {
			t.Errorf("exit status %d is not in README.md's table", c)
		}
		delete(documented, c)
	}
	for c := range documented {
		t.Errorf("README.md documents exit status %d, which troc does not use", c)
	}
}
