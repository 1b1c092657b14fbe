package main

// troc exec's command line: flags before or after the command, the job's
// name, the command as recorded.

import (
	"flag"
	"strings"
	"time"
)

// execOptions is what the command line of troc exec says.
type execOptions struct {
	name        string
	command     string   // for /bin/sh -c
	argv        []string // after --: run directly
	tee         bool
	quiet       bool
	notify      bool
	stderrFails bool          // --stderr-fails: a run that wrote to stderr is Failed (chronic -e)
	timeout     time.Duration // with timeoutSet; 0: none
	timeoutSet  bool          // --timeout was given: the job's own setting does not apply
	killAfter   time.Duration
	control     controlChange // job control flags given (jobcontrol.go), the environment's too
}

// defaultKillAfter is how long a job has to exit after SIGTERM before
// troc sends SIGKILL.
const defaultKillAfter = 10 * time.Second

// execFlags defines troc exec's flags on fs and returns the function that
// reads its command line with them. Flags may stand before or after the
// command string (the original troc's crontab lines put --notify last);
// everything after "--" is the program and its arguments.
func execFlags(fs *flag.FlagSet) func(a *app, args []string) (*execOptions, error) {
	o := &execOptions{}
	fs.StringVar(&o.name, "name", "", "the job's `NAME`: letters, digits, '.', '_', '-'; at most 64")
	fs.BoolVar(&o.tee, "tee", false, "also copy the job's stdout and stderr to troc's, live")
	fs.BoolVar(&o.quiet, "q", false, "print nothing unless the run needs attention (as cronic)")
	fs.BoolVar(&o.quiet, "quiet", false, "same as -q")
	fs.BoolVar(&o.notify, "notify", false, "send notifications of this run through the configured channels (see notify.* in the config)")
	fs.BoolVar(&o.stderrFails, "stderr-fails", false, "make a run that wrote anything to stderr Failed, even when it exits 0 (as chronic -e)")
	timeout := fs.String("timeout", "", "end the job after `DURATION` (e.g. 90s, 1h30m; 0: no timeout); default: the job's setting")
	killAfter := fs.String("kill-after", "", "after SIGTERM, wait `DURATION` before SIGKILL (default 10s)")
	var control controlFlags
	control.define(fs, false)
	return func(a *app, args []string) (*execOptions, error) {
		var positional []string
		rest := args
		for {
			before := len(rest)
			if err := a.parseFlags(fs, rest); err != nil {
				return nil, err
			}
			rest = fs.Args()
			consumed := args[len(args)-before : len(args)-len(rest)]
			if n := len(consumed); n > 0 && consumed[n-1] == "--" {
				o.argv = rest
				break
			}
			if len(rest) == 0 {
				break
			}
			positional = append(positional, rest[0])
			rest = rest[1:]
		}

		if err := checkJobName(o.name); err != nil {
			return nil, err
		}
		switch {
		case len(positional) > 0 && o.argv != nil:
			return nil, usagef("give either a command string or -- PROG ARGS, not both")
		case len(positional) > 1:
			return nil, withHint(usagef("expected one command string, got %d arguments: %q", len(positional), positional),
				`quote the command ("rsync -a /a /b") or put -- before the program and its arguments`)
		case len(positional) == 1:
			o.command = positional[0]
			if strings.TrimSpace(o.command) == "" {
				return nil, usagef("the command string is empty")
			}
		case len(o.argv) == 0:
			return nil, withHint(usagef("no command to run"), `troc exec --name NAME "COMMAND" or troc exec --name NAME -- PROG ARGS`)
		}
		if o.tee && o.quiet {
			// -q promises silence on success; --tee prints as the job runs.
			return nil, usagef("--tee and -q cannot be used together")
		}
		var err error
		fs.Visit(func(f *flag.Flag) { o.timeoutSet = o.timeoutSet || f.Name == "timeout" })
		if o.timeoutSet {
			// 0 lifts the job's own timeout for this run.
			if o.timeout, err = parseDuration(*timeout); err != nil {
				return nil, usagef("--timeout: %v", err)
			}
		}
		if o.control, err = control.change(fs); err != nil {
			return nil, err
		}
		o.killAfter = defaultKillAfter
		if *killAfter != "" {
			if o.killAfter, err = parseDuration(*killAfter); err != nil {
				return nil, usagef("--kill-after: %v", err)
			}
		}
		return o, nil
	}
}

// checkJobName accepts [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters:
// a name is part of file names, so nothing that could climb out of a
// directory, hide, or need quoting.
func checkJobName(name string) error {
	if name == "" {
		return withHint(usagef("--name is required"), `troc exec --name daily-sync "COMMAND"`)
	}
	return checkName("job", name)
}

// checkName holds a name of kind ("job", "lock") to checkJobName's rules.
func checkName(kind, name string) error {
	if len(name) > 64 {
		return usagef("invalid %s name %q: longer than 64 characters", kind, name)
	}
	for i, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			return usagef("invalid %s name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", kind, name)
		}
	}
	return nil
}

// commandLine is the command as recorded: the string given, or the
// program and its arguments quoted the way a shell would need them.
func (o *execOptions) commandLine() string {
	if o.argv == nil {
		return o.command
	}
	quoted := make([]string, len(o.argv))
	for i, s := range o.argv {
		quoted[i] = shellQuote(s)
	}
	return strings.Join(quoted, " ")
}
