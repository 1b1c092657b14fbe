// Command troc wraps a cron job or script: it runs it under a per-job lock,
// keeps its output, records every run in a local SQLite history and lets
// people query it. See README.md.
package main

import (
	"context"
	"os"
)

func main() {
	a := &app{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		env:    os.LookupEnv,
	}
	os.Exit(a.main(context.Background(), os.Args[1:]))
}
