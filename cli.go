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

// codedError is an error that exits with a status of its own after its
// message (troc run grep's 2, as grep's).
type codedError struct {
	err  error
	code int
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

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
	var coded *codedError
	switch {
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &config):
		return exitConfig
	}
	return exitError
}

// command is one command of troc: its row in the command table, which
// dispatch, troc help, every -h, the hints for an unknown command and
// troc --host all read. A new command is one row and one function.
type command struct {
	path    string // the words after "troc": "run list"
	usage   string // what follows them in the synopsis; one line per form, " " starting the rest of a long one
	summary string // one line for troc help
	about   string // more for -h, after the synopsis; "" for none
	// build defines the command's flags on fs, a flag set named for it,
	// and returns the function that runs it with them. Help and tests
	// build a flag set without running anything.
	build func(fs *flag.FlagSet) runFunc
	// onHosts runs the command through troc --host; nil when --host may
	// not run it.
	onHosts func(r *remote, ctx context.Context, args []string) error
}

// commands is the command table, in the order troc help lists it.
var commands []command

func init() {
	stream := func(r *remote, ctx context.Context, args []string) error { return r.stream(ctx, args, false) }
	commands = []command{
		{path: "exec", usage: "--name NAME [flags] \"COMMAND\"\n--name NAME [flags] -- PROG [ARG...]",
			summary: "run a job under its lock, keep its output and record the run",
			about: `Runs COMMAND with /bin/sh -c (or PROG directly) as a run of job NAME, under
the job's lock, logging its output, and prints the run as JSON. Flags may
come before or after COMMAND.`,
			build: execCmd},
		{path: "run list", usage: "[--name JOB] [--status S[,S]] [--since DUR|TIME] [--limit N] [--json | --format pretty|json|csv|tsv]",
			summary: "list runs, newest first", build: runListCmd, onHosts: (*remote).runList},
		{path: "run show", usage: "-r ID [--json]", summary: "one run as JSON, with its job's settings",
			build: runShowCmd, onHosts: (*remote).runShow},
		{path: "run grep", usage: "PATTERN [--name JOB] [--status S[,S]] [--since DUR|TIME] [-i] [-l]",
			summary: "search the logs of runs, newest first, as grep -n",
			about: `Prints each line of the selected runs' logs that PATTERN (a Go regular
expression, grep -E's syntax) matches, as RUN:LINE:TEXT, newest run first;
with -l only the run ids. Exits 0 when a line matched, 1 when none did, 2 on
an error, as grep. Through --host with several hosts, lines start HOST:.`,
			build: runGrepCmd, onHosts: (*remote).runGrep},
		{path: "run log", usage: "-r ID [--tail N]", summary: "a run's log", build: runLogCmd, onHosts: (*remote).runLog},
		{path: "run watch", usage: "-r ID", summary: "follow a run's log until the run ends", build: runWatchCmd, onHosts: stream},
		{path: "run term", usage: "-r ID [--json]", summary: "mark a Running run whose troc is gone Terminated", build: runTermCmd, onHosts: stream},
		{path: "run kill", usage: "-r ID [--signal SIG] [--force]", summary: "signal a run's whole process group",
			build: runKillCmd, onHosts: (*remote).runKill},
		{path: "job add", usage: "--name NAME [--schedule CRON] [--grace DUR] [--max-runtime DUR] [--timeout DUR]\n" +
			" [--min-runtime DUR] [--expect-output] [--notify] [--notify-log] [--notify-on S,S]\n" +
			" [--description TEXT] [--lock NAME] [--lock-wait DUR] [--skip-exit CODE] [--jitter DUR]\n" +
			" [--retry N] [--retry-delay DUR] [--skip-when-paused] [--env-file FILE] [--cwd DIR]\n" +
			" [--nice N] [--ionice CLASS[:LEVEL]] [--umask MODE]",
			summary: "add a job with its settings", build: jobAddCmd},
		{path: "job update", usage: "--name NAME [--rename NEW] [--schedule CRON] [--grace DUR] [--max-runtime DUR]\n" +
			" [--timeout DUR] [--min-runtime DUR] [--expect-output=BOOL] [--notify=BOOL]\n" +
			" [--notify-log=BOOL] [--notify-on S,S|default|none]\n" +
			" [--description TEXT] [--lock NAME] [--lock-wait DUR] [--skip-exit CODE|default]\n" +
			" [--jitter DUR] [--retry N] [--retry-delay DUR] [--skip-when-paused=BOOL]\n" +
			" [--env-file FILE] [--cwd DIR] [--nice N] [--ionice CLASS[:LEVEL]] [--umask MODE]",
			summary: "change a job's settings, or rename it", build: jobUpdateCmd},
		{path: "job list", usage: "[--json | --format pretty|json|csv|tsv]", summary: "every job with its health and latest run",
			build: jobListCmd, onHosts: (*remote).jobList},
		{path: "job show", usage: "--name NAME [--json]", summary: "one job: settings, health, tallies and latest runs",
			build: jobShowCmd, onHosts: (*remote).jobShow},
		// Not on --host: pausing changes a job, and --host only reads (run
		// kill aside, which acts on one run someone is looking at).
		{path: "job pause", usage: "--name NAME [--for DUR] [--reason TEXT]",
			summary: "pause a job: check says paused, nothing alerts",
			build:   jobPauseCmd},
		{path: "job resume", usage: "--name NAME", summary: "end a job's pause", build: jobResumeCmd},
		{path: "job rm", usage: "--name NAME [--keep-logs] [--force]", summary: "delete a job, its runs and their logs", build: jobRmCmd},
		{path: "job import-crontab", usage: "[--system] [--dry-run] [--json] [FILE|-]",
			summary: "make jobs of the troc exec lines of a crontab, with their schedules", build: jobImportCrontabCmd},
		{path: "prune", usage: "[--older-than DUR] [--keep N] [--name JOB] [--dry-run] [--json]",
			summary: "delete old runs and their logs", build: pruneCmd},
		{path: "notify test", usage: "[--channel NAME] [--json]", summary: "send a test notification",
			about: `Sends a test notification through every configured channel, or only
through NAME (slack, webhook, ping, email or command), and prints one line
per channel: "slack: ok" or "slack: failed: why" (with --json, an array
of {"channel", "ok", "error"}). The ping URL gets the
test at URL/log, which healthchecks.io records without changing the
check's state. Exits 0 when every channel worked, 1 otherwise.`,
			build: notifyTestCmd},
		{path: "check", usage: "[--json] [--notify]", summary: "is every scheduled job on time and well?",
			build: checkCmd, onHosts: (*remote).check},
		{path: "metrics", usage: "", summary: "Prometheus metrics of every job", build: metricsCmd, onHosts: (*remote).metrics},
		{path: "ui", usage: "", summary: "a full-screen dashboard of jobs, runs and logs", build: uiCmd,
			onHosts: func(r *remote, ctx context.Context, args []string) error { return r.stream(ctx, args, true) }},
		{path: "version", usage: "[--json]", summary: "print troc's version",
			build: versionCmd, onHosts: (*remote).version},
	}
}

// runFunc runs a command with the arguments after its path, parsing them
// with the flags its build defined: commands differ in where positional
// arguments may stand, so each parses its own.
type runFunc func(a *app, ctx context.Context, args []string) error

// flagSet is an empty flag set for the command, named "troc PATH".
func (c *command) flagSet() *flag.FlagSet { return newFlagSet("troc " + c.path) }

// findCommand returns the command whose path is path, or nil.
func findCommand(path string) *command {
	for i := range commands {
		if commands[i].path == path {
			return &commands[i]
		}
	}
	return nil
}

// synopsis is the command's usage, one "  troc PATH USAGE" line per form.
func (c *command) synopsis() string {
	var b strings.Builder
	for i, form := range strings.Split(c.usage, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if rest, ok := strings.CutPrefix(form, " "); ok {
			// The rest of a long form, under its flags.
			b.WriteString(strings.Repeat(" ", len("  troc "+c.path+" ")) + rest)
			continue
		}
		b.WriteString(strings.TrimRight("  troc "+c.path+" "+form, " "))
	}
	return b.String()
}

// group is the first word of path when it names a group of commands
// (run, job, notify), else "".
func group(path string) string {
	g, _, ok := strings.Cut(path, " ")
	if !ok {
		return ""
	}
	return g
}

// isGroup reports whether word names a group of commands.
func isGroup(word string) bool {
	for _, c := range commands {
		if group(c.path) == word {
			return true
		}
	}
	return false
}

// groupUsage is the usage of a group: the synopsis of each of its commands.
func groupUsage(name string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, c := range commands {
		if group(c.path) == name {
			b.WriteString(c.synopsis() + "\n")
		}
	}
	fmt.Fprintf(&b, "\nRun \"troc %s COMMAND -h\" for the flags of one.\n", name)
	return b.String()
}

// usageText is troc help: every command with its summary.
func usageText() string {
	var b strings.Builder
	b.WriteString(`troc runs cron jobs and scripts under a lock, keeps their output and
records every run in a local history.

Usage:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  troc %-19s %s\n", c.path, c.summary)
	}
	b.WriteString(`
  troc --host [USER@]HOST[:PORT] COMMAND ...
      runs ` + hostCommands() + `
      on another host's troc through ssh; --host may be repeated, and
      --hosts FILE and --group NAME name several (see README.md)

Run "troc COMMAND -h" (as in "troc run list -h") for a command's flags.
`)
	return b.String()
}

// hostCommands lists what troc --host may run: "run list|show, check or ui".
func hostCommands() string {
	var parts []string
	last := ""
	for _, c := range commands {
		if c.onHosts == nil {
			continue
		}
		g, leaf, _ := strings.Cut(c.path, " ")
		if leaf != "" && g == last {
			parts[len(parts)-1] += "|" + leaf
			continue
		}
		parts = append(parts, c.path)
		last = g
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// helpWord reports whether arg asks for usage.
func helpWord(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// unknownCommand is the error for a command line that names no command,
// with the closest command there is as a hint.
func unknownCommand(words string) error {
	best, bestDist := "", -1
	for _, c := range commands {
		candidate := c.path
		if !strings.Contains(words, " ") {
			candidate, _, _ = strings.Cut(c.path, " ") // a command or a group
		}
		if d := editDistance(words, candidate); bestDist < 0 || d < bestDist {
			best, bestDist = candidate, d
		}
	}
	hint := "run 'troc help' for the list of commands"
	if g := group(words); g != "" && isGroup(g) {
		hint = fmt.Sprintf("run 'troc %s help' for the list", g)
	}
	if bestDist >= 0 && bestDist <= len(words)/2 {
		hint = fmt.Sprintf("did you mean 'troc %s'? %s", best, hint)
	}
	return withHint(usagef("unknown command %q", words), hint)
}

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
		fmt.Fprint(a.stderr, usageText())
		return exitStatus(exitUsage)
	}
	switch {
	case helpWord(args[0]):
		fmt.Fprint(a.stdout, usageText())
		return nil
	case args[0] == "-version" || args[0] == "--version":
		args[0] = "version"
	}
	c, rest, err := a.lookup(args)
	if c == nil {
		return err
	}
	return c.build(c.flagSet())(a, ctx, rest)
}

// lookup returns the command that args name and the arguments after its
// path. A group named alone, or with help, gets its usage printed and no
// command.
func (a *app) lookup(args []string) (*command, []string, error) {
	if !isGroup(args[0]) {
		if c := findCommand(args[0]); c != nil {
			return c, args[1:], nil
		}
		return nil, nil, unknownCommand(args[0])
	}
	switch {
	case len(args) == 1:
		fmt.Fprint(a.stderr, groupUsage(args[0]))
		return nil, nil, exitStatus(exitUsage)
	case helpWord(args[1]):
		fmt.Fprint(a.stdout, groupUsage(args[0]))
		return nil, nil, nil
	}
	path := args[0] + " " + args[1]
	if c := findCommand(path); c != nil {
		return c, args[2:], nil
	}
	return nil, nil, unknownCommand(path)
}

// versionJSON is troc version --json.
type versionJSON struct {
	Host      string `json:"host,omitempty"` // the host as named to troc --host; local answers have none
	Version   string `json:"version"`        // as ./build stamped it from git describe; "devel" otherwise
	GoVersion string `json:"go_version"`     // the Go that built it
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// versionCmd is troc version.
func versionCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the version as a JSON object")
	return func(a *app, _ context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(a.stdout, versionJSON{Version: version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH})
		}
		fmt.Fprintf(a.stdout, "troc %s\n", version)
		return nil
	}
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
func (a *app) parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		a.printUsage(a.stdout, fs)
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

// printUsage prints the usage of fs's command, from the command table.
func (a *app) printUsage(w io.Writer, fs *flag.FlagSet) {
	c := findCommand(strings.TrimPrefix(fs.Name(), "troc "))
	if c == nil {
		panic("no row in the command table for " + fs.Name())
	}
	fmt.Fprintf(w, "Usage:\n%s\n", c.synopsis())
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	fmt.Fprintf(w, "Flags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseArgs parses a command line whose flags may come before or after
// its positional arguments ("troc run show 5 --json"), and returns the
// positional ones.
func (a *app) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := a.parseFlags(fs, args); err != nil {
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
func (a *app) noPositional(fs *flag.FlagSet, args []string) error {
	positional, err := a.parseArgs(fs, args)
	if err == nil && len(positional) > 0 {
		err = withUsageHint(fs, usagef("unexpected argument %q", positional[0]))
	}
	return err
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
