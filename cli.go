package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// version is stamped in by ./build from `git describe`.
var version = "devel"

// Exit statuses of troc itself. `troc exec` otherwise exits with the job's
// own status, or 128+N when the job died of signal N. README.md documents
// the same table; exit_test.go holds both to it.
const (
	exitOK       = 0
	exitError    = 1   // something failed; the message says what
	exitUsage    = 2   // bad command line: unknown flag, bad name, missing argument
	exitSetup    = 71  // troc could not set the run up (lock, process); recorded as Failed
	exitSkipped  = 75  // another run of the job holds its lock; recorded as Skipped
	exitConfig   = 78  // the configuration file or a TROC_* variable is invalid
	exitTimedOut = 124 // the job ran past its timeout; recorded as TimedOut (as timeout(1))
	exitNoExec   = 126 // the program given after -- exists but cannot be executed
	exitNotFound = 127 // the program given after -- does not exist
)

// app carries what every command needs: its streams and its environment.
// Nothing below it reads os.Stdout, os.Stderr or os.Getenv directly, so
// tests can run commands in-process when they want to.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    func(string) (string, bool)

	history string // the history's path, once a command has opened it
}

// usageError is a bad command line. It exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// hintError carries a follow-up line, printed as "troc: hint: ...".
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

// configError is an invalid configuration. It exits 78.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// exitStatus ends troc with a given status and no message: the command has
// already said what it had to (troc exec's run summary, for one).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// main runs a command and turns its error into an exit status. It is the
// only place that does.
func (a *app) main(ctx context.Context, args []string) int {
	err := a.run(ctx, args)
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	if c := sqliteCode(err); (c == sqliteCorrupt || c == sqliteNotADB) && a.history != "" {
		err = historyErrorf(a.history, errCorrupt, "SQLite reports: %v", err)
	}
	// An error may quote what a job, the history or another host said.
	fmt.Fprintf(a.stderr, "troc: %s\n", termText(err.Error()))
	var hint *hintError
	if errors.As(err, &hint) {
		fmt.Fprintf(a.stderr, "troc: hint: %s\n", termText(hint.hint))
	}
	var usage *usageError
	var config *configError
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &config):
		return exitConfig
	}
	return exitError
}

const usageText = `troc runs cron jobs and scripts under a lock, keeps their output and
records every run in a local history.

Usage:
  troc exec --name NAME [flags] "COMMAND"     run COMMAND with /bin/sh -c
  troc exec --name NAME [flags] -- PROG ARG... run PROG directly
  troc run list|show|log|watch|term|kill      query and control runs
  troc job add|update|list|show|rm|import-crontab
                                              manage jobs, their settings and schedules
  troc prune [--older-than DUR] [--keep N]    delete old runs and their logs
  troc notify test [--channel NAME] [--json]  send a test notification
  troc check [--json] [--notify]              is every scheduled job on time and well?
  troc metrics                                Prometheus metrics of every job
  troc ui                                     a full-screen dashboard of jobs, runs and logs
  troc version [--json]                       print troc's version

  troc --host [USER@]HOST[:PORT] COMMAND ...  run a read or control command on another
                                              host's troc through ssh; --host may be
                                              repeated, --hosts FILE and --group NAME
                                              name several (see README.md)

Run "troc exec -h", "troc run help" or "troc job help" for more.
`

// run dispatches on the first argument.
func (a *app) run(ctx context.Context, args []string) error {
	targets, args, err := takeRemoteFlags(args)
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "ui" {
		// "troc ui --host H" reads better than "troc --host H ui".
		more, rest, err := takeRemoteFlags(args[1:])
		if err != nil {
			return err
		}
		targets.add(more)
		args = append([]string{"ui"}, rest...)
	}
	if targets.any() {
		return a.remote(ctx, targets, args)
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usageText)
		return exitStatus(exitUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(a.stdout, usageText)
		return nil
	case "-version", "--version", "version":
		return a.version(args[1:])
	case "exec":
		return a.exec(ctx, args[1:])
	case "run":
		return a.runCmd(ctx, args[1:])
	case "job":
		return a.jobCmd(ctx, args[1:])
	case "prune":
		return a.prune(ctx, args[1:])
	case "notify":
		return a.notifyCmd(ctx, args[1:])
	case "check":
		return a.check(ctx, args[1:])
	case "metrics":
		return a.metrics(ctx, args[1:])
	case "ui":
		return a.ui(ctx, args[1:])
	}
	return withHint(usagef("unknown command %q", args[0]), "run 'troc help' for the list of commands")
}

// versionJSON is troc version --json.
type versionJSON struct {
	Host      string `json:"host,omitempty"` // the host as named to troc --host; local answers have none
	Version   string `json:"version"`        // as ./build stamped it from git describe; "devel" otherwise
	GoVersion string `json:"go_version"`     // the Go that built it
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// version is troc version.
func (a *app) version(args []string) error {
	const synopsis = "  troc version [--json]"
	fs := newFlagSet("troc version")
	asJSON := fs.Bool("json", false, "print the version as a JSON object")
	if err := a.noPositional(fs, synopsis, args); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, versionJSON{Version: version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH})
	}
	fmt.Fprintf(a.stdout, "troc %s\n", version)
	return nil
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints nothing itself: parseFlags decides where the usage goes.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs. For -h it prints the usage to stdout and
// returns exitStatus(0); for a bad flag or a missing value it returns a
// usage error naming the flag, with a hint to see the usage (see withUsageHint).
func (a *app) parseFlags(fs *flag.FlagSet, synopsis string, args []string) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		a.printUsage(a.stdout, fs, synopsis)
		return exitStatus(exitOK)
	}
	return withUsageHint(fs, &usageError{msg: strings.TrimSpace(err.Error())})
}

// withUsageHint returns err, a mistake on fs's command line, with a hint that
// names the command's usage: "troc: hint: see troc exec -h". The usage
// itself is not printed: under cron, twenty lines of it would bury the
// one that says what is wrong.
func withUsageHint(fs *flag.FlagSet, err error) error {
	return withHint(err, "see "+fs.Name()+" -h")
}

func (a *app) printUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage:\n%s\nFlags:\n", synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseArgs parses a command line whose flags may come before or after
// its positional arguments ("troc run show 5 --json"), and returns the
// positional ones.
func (a *app) parseArgs(fs *flag.FlagSet, synopsis string, args []string) ([]string, error) {
	var positional []string
	for {
		if err := a.parseFlags(fs, synopsis, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// noPositional parses a command line that takes flags only.
func (a *app) noPositional(fs *flag.FlagSet, synopsis string, args []string) error {
	positional, err := a.parseArgs(fs, synopsis, args)
	if err == nil && len(positional) > 0 {
		err = withUsageHint(fs, usagef("unexpected argument %q", positional[0]))
	}
	return err
}

// dispatch runs the subcommand of group ("run", "job") that args name.
func (a *app) dispatch(ctx context.Context, group, usage string, args []string, cmds map[string]func(context.Context, []string) error) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitStatus(exitUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return withHint(usagef("unknown command \"%s %s\"", group, args[0]), fmt.Sprintf("run 'troc %s help' for the list", group))
	}
	return cmd(ctx, args[1:])
}

// confirm asks question on a terminal and reports whether the answer was
// yes. Without a terminal on stdin (cron, a script) there is nobody to ask,
// and the answer is yes: scripts say --force only to be explicit.
func (a *app) confirm(question string) bool {
	if !a.askable() {
		return true
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", termText(question))
	answer, _ := bufio.NewReader(a.stdin).ReadString('\n')
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}

// askable reports whether troc can ask its user a question: stdin is a
// terminal.
func (a *app) askable() bool {
	in, ok := a.stdin.(*os.File)
	return ok && isTerminal(in)
}
