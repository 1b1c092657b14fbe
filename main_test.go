package main

import (
	"os"
	"testing"
)

// The end-to-end tests run troc as users do: as a separate process, with
// real jobs, signals, files and databases. The test binary is that
// process: run with TROC_TEST_MAIN=1 it is troc (the same main), which
// keeps -race and coverage working across the process boundary.
func TestMain(m *testing.M) {
	if os.Getenv("TROC_TEST_MAIN") == "1" {
		if fifo := os.Getenv("TEST_TROC_SETUP_FIFO"); fifo != "" {
			// Hold exec's set-up until the test writes to the FIFO.
			testHookSetup = func() { os.ReadFile(fifo) }
		}
		main()
	}
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}
