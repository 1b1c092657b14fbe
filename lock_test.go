package main

import (
	"testing"
)

func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	if held, err := lockHeld(dir, "j"); err != nil || held {
		t.Errorf("no lock file: held = %t, %v", held, err)
	}
	f, err := lockJob(dir, "j")
	if err != nil {
		t.Fatal(err)
	}
	if held, err := lockHeld(dir, "j"); err != nil || !held {
		t.Errorf("while locked: held = %t, %v", held, err)
	}
	if held, _ := lockHeld(dir, "other"); held {
		t.Error("another job's lock counts")
	}
	f.Close()
	if held, err := lockHeld(dir, "j"); err != nil || held {
		t.Errorf("after release: held = %t, %v", held, err)
	}
}
