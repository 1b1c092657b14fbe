package main

import (
	"os"
	"testing"
	"time"
)

// The end-to-end tests run troc as users do: as a separate process, with
// real jobs, signals, files and databases. The test binary is that
// process: run with TROC_TEST_MAIN=1 it is troc (the same main), which
// keeps -race and coverage working across the process boundary.
func TestMain(m *testing.M) {
	if os.Getenv("TROC_TEST_MAIN") == "1" {
		if fifo := os.Getenv("TEST_TROC_SETUP_FIFO"); fifo != "" {
			// Hold exec's set-up until the test, having signalled troc,
			// closes the FIFO; then until the signal, which the kernel
			// has handed to the Go runtime by then, reaches troc's
			// channel (on a loaded machine that can take longer than
			// the job takes to run).
			testHookSetup = func(sigs chan os.Signal) {
				os.ReadFile(fifo)
				for deadline := time.Now().Add(10 * time.Second); len(sigs) == 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
		}
		main()
	}
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}
