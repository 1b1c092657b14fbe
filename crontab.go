package main

// troc job import-crontab: take each job's schedule from the crontab line
// that runs it, so that nobody writes a schedule twice. The rules:
//
//   - A line runs a job when its command holds "troc exec" (troc by any
//     path) with --name NAME or --name=NAME, quoted as a shell would.
//   - Its schedule is the line's five time fields or its @macro, with the
//     CRON_TZ in effect at that line (a CRON_TZ=Zone line applies to the
//     lines after it, as in cronie and Vixie cron).
//   - /etc/crontab and files in /etc/cron.d have a user field after the
//     schedule; --system says so for other files. Only the lines of the
//     user running the import are taken: another user's job records into
//     that user's own history, so in this one it would stay late for
//     ever. Those lines are reported as skipped, naming their user.
//   - A job that is not in the history yet is created with its schedule.
//     A job scheduled on two lines with different schedules is reported
//     and left alone: a job has one schedule.
//   - Nothing else in the crontab is changed or even rewritten: troc only
//     reads it.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cronEntry is one crontab line that runs troc exec.
type cronEntry struct {
	line     int
	job      string
	schedule string // normalised (Schedule.String)
}

// cronSkip is a crontab line that looked like a troc job but was not
// taken, and why.
type cronSkip struct {
	line int
	why  string
	user string // the line's user, when that is why: another user's job
}

// parseCrontab finds the troc jobs in a crontab. system says whether its
// lines have a user field; then only the lines of user me are taken.
func parseCrontab(r io.Reader, system bool, me string) ([]cronEntry, []cronSkip, error) {
	var entries []cronEntry
	var skips []cronSkip
	tz := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, value, ok := envAssignment(line); ok {
			if name == "CRON_TZ" {
				tz = value
			}
			continue
		}
		fields := strings.Fields(line)
		nsched := 5
		if strings.HasPrefix(fields[0], "@") {
			nsched = 1
			if strings.EqualFold(fields[0], "@every") && len(fields) > 1 {
				nsched = 2 // not cron's, but troc's own: keep it whole
			}
		}
		rest := nsched
		if system {
			rest++ // the user field
		}
		if len(fields) <= rest {
			continue // not a job line at all
		}
		// The command is the line after the fields, as the shell gets it.
		command := line
		for i := 0; i < rest; i++ {
			command = strings.TrimLeft(command, " \t")
			command = command[len(fields[i]):]
		}
		job, ok, err := trocJobName(command)
		switch {
		case !ok:
			continue
		case err != nil:
			skips = append(skips, cronSkip{line: n, why: err.Error()})
			continue
		}
		text := strings.Join(fields[:nsched], " ")
		if tz != "" {
			text = "CRON_TZ=" + tz + " " + text
		}
		if user := fields[nsched]; system && user != me {
			skips = append(skips, cronSkip{n, fmt.Sprintf("job %s runs as %s, not %s: it records into %s's history (import it as %s)", job, user, me, user, user), user})
			continue
		}
		sched, err := ParseSchedule(text)
		if err != nil {
			skips = append(skips, cronSkip{line: n, why: fmt.Sprintf("job %s: %v", job, err)})
			continue
		}
		entries = append(entries, cronEntry{line: n, job: job, schedule: sched.String()})
	}
	return entries, skips, sc.Err()
}

// envAssignment reports whether a crontab line sets a variable, and which.
func envAssignment(line string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(line, "=")
	if !ok || name == "" {
		return "", "", false
	}
	if name = strings.TrimSpace(name); !isEnvName(name) {
		return "", "", false
	}
	value = strings.TrimSpace(value)
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	return name, value, true
}

// trocJobName finds "troc exec ... --name NAME" in a shell command. ok
// says whether the command runs troc exec at all; err, that it does but
// its job name cannot be told.
func trocJobName(command string) (name string, ok bool, err error) {
	words, err := shellWords(command)
	for i := 0; i+1 < len(words); i++ {
		if filepath.Base(words[i]) != "troc" || words[i+1] != "exec" {
			continue
		}
		if err != nil {
			return "", true, fmt.Errorf("cannot read the command: %v", err)
		}
	args:
		for j := i + 2; j < len(words) && name == ""; j++ {
			w := words[j]
			if w == "--" || shellOperators[w] {
				break // the job's own arguments, or another command
			}
			for _, flag := range []string{"--name", "-name"} {
				if w == flag && j+1 < len(words) {
					name = words[j+1]
					break args
				} else if v, found := strings.CutPrefix(w, flag+"="); found {
					name = v
					break args
				}
			}
		}
		if name == "" {
			return "", true, errors.New("troc exec without --name")
		}
		if err := checkJobName(name); err != nil {
			return "", true, err
		}
		return name, true, nil
	}
	return "", false, nil
}

// shellOperators are the words shellWords returns for the operators
// that separate commands.
var shellOperators = map[string]bool{";": true, "&": true, "&&": true, "|": true, "||": true}

// importJSON is troc job import-crontab --json: what the import found,
// changed and skipped. With dry_run nothing was changed, and each action
// is what would have been done.
type importJSON struct {
	Source    string           `json:"source"` // the file, "stdin" or "crontab -l"
	DryRun    bool             `json:"dry_run"`
	Found     int              `json:"found"` // troc jobs the crontab schedules, those left alone included
	Jobs      []importJobJSON  `json:"jobs"`
	Skipped   []importSkipJSON `json:"skipped"`
	Changed   int              `json:"changed"`
	Unchanged int              `json:"unchanged"`
}

// importJobJSON is one job the crontab schedules.
type importJobJSON struct {
	Job      string  `json:"job"`
	Line     int     `json:"line"`
	Schedule string  `json:"schedule"`
	Action   string  `json:"action"` // "added", "scheduled" or "unchanged"
	Was      *string `json:"was"`    // the schedule it had; null for a new job or an unchanged one
}

// importSkipJSON is one line that was not taken.
type importSkipJSON struct {
	Line   int     `json:"line"`
	Reason string  `json:"reason"`
	User   *string `json:"user"` // the line's user, when it is another user's job
}

// jobImportCrontabCmd is troc job import-crontab.
func jobImportCrontabCmd(fs *flag.FlagSet) runFunc {
	system := fs.Bool("system", false, "the crontab's lines have a user field (as /etc/crontab and /etc/cron.d/*; set by itself for those); only this user's lines are taken")
	dryRun := fs.Bool("dry-run", false, "say what would change, change nothing")
	asJSON := fs.Bool("json", false, "print what was found, changed and skipped as a JSON object")
	return func(a *app, ctx context.Context, args []string) error {
		positional, err := a.parseArgs(fs, args)
		if err != nil {
			return err
		}
		if len(positional) > 1 {
			return usagef("give one crontab file, or - for stdin")
		}
		data, source, err := a.readCrontab(ctx, positional, system)
		if err != nil {
			return err
		}
		entries, skips, err := parseCrontab(bytes.NewReader(data), *system, currentUser())
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		jobs, found, skips := oneSchedulePerJob(entries, skips)

		h, err := a.openHistory(ctx)
		if err != nil {
			return err
		}
		out := importJSON{Source: source, DryRun: *dryRun, Found: found, Jobs: []importJobJSON{}, Skipped: []importSkipJSON{}}
		for _, e := range jobs {
			v, err := h.importJob(ctx, e, *dryRun)
			if err != nil {
				return fmt.Errorf("job %s: %w", e.job, err)
			}
			if v.Action == "unchanged" {
				out.Unchanged++
			} else {
				out.Changed++
			}
			out.Jobs = append(out.Jobs, v)
		}
		for _, s := range skips {
			out.Skipped = append(out.Skipped, importSkipJSON{Line: s.line, Reason: s.why, User: nonEmpty(s.user)})
		}
		if *asJSON {
			return writeJSON(a.stdout, out)
		}
		return writeImport(a.stdout, out)
	}
}

// readCrontab reads the crontab that the command line names: `crontab
// -l` with none, stdin for "-", else the file, which makes the crontab a
// system one when it is /etc/crontab or in /etc/cron.d. It returns the
// text and what it read, for messages.
func (a *app) readCrontab(ctx context.Context, positional []string, system *bool) ([]byte, string, error) {
	switch {
	case len(positional) == 0:
		out, err := exec.CommandContext(ctx, "crontab", "-l").Output()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, "", fmt.Errorf("crontab -l: %s", strings.TrimSpace(string(exitErr.Stderr)))
		}
		if err != nil {
			return nil, "", fmt.Errorf("crontab -l: %w", err)
		}
		return out, "crontab -l", nil
	case positional[0] == "-":
		data, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read stdin: %w", err)
		}
		return data, "stdin", nil
	}
	source := positional[0]
	data, err := os.ReadFile(source)
	if err != nil {
		return nil, "", err
	}
	if abs, err := filepath.Abs(source); err == nil && (abs == "/etc/crontab" || filepath.Dir(abs) == "/etc/cron.d") {
		*system = true
	}
	return data, source, nil
}

// oneSchedulePerJob returns each job of entries once, in the order they
// first appear, and how many jobs there are, with the line and schedule of its first line, leaving out
// a job that another line gives another schedule: a job has one schedule,
// and such a job is left as it is, with a skip for each line that
// disagrees.
func oneSchedulePerJob(entries []cronEntry, skips []cronSkip) (jobs []cronEntry, found int, _ []cronSkip) {
	first := map[string]cronEntry{}
	conflict := map[string]bool{}
	var order []cronEntry
	for _, e := range entries {
		f, seen := first[e.job]
		switch {
		case !seen:
			first[e.job] = e
			order = append(order, e)
		case f.schedule != e.schedule:
			conflict[e.job] = true
			skips = append(skips, cronSkip{line: e.line, why: fmt.Sprintf("job %s is also scheduled on line %d (%s): a job has one schedule", e.job, f.line, f.schedule)})
		}
	}
	return slices.DeleteFunc(order, func(e cronEntry) bool { return conflict[e.job] }), len(first), skips
}

// importJob gives the job of crontab line e that line's schedule, adding
// the job if need be, and says what it did (or, in a dry run, would do).
func (h *history) importJob(ctx context.Context, e cronEntry, dryRun bool) (importJobJSON, error) {
	sched := e.schedule
	c := jobChange{Schedule: &sched, Now: h.now()}
	v := importJobJSON{Job: e.job, Line: e.line, Schedule: sched}
	job, err := h.db.job(ctx, e.job)
	switch {
	case err == nil && job.Schedule == sched:
		v.Action = "unchanged"
	case err == nil:
		if !dryRun {
			err = h.db.updateJob(ctx, e.job, c)
		}
		v.Action, v.Was = "scheduled", &job.Schedule
	case errors.Is(err, sql.ErrNoRows):
		err = nil
		if !dryRun {
			err = h.db.addJob(ctx, e.job, c, h.now())
		}
		v.Action = "added"
	}
	return v, err
}

// writeImport says what troc job import-crontab found, changed and
// skipped, a line each, and the tally.
func writeImport(w io.Writer, v importJSON) error {
	b := bufio.NewWriter(w)
	for _, j := range v.Jobs {
		switch {
		case j.Action == "unchanged":
			fmt.Fprintf(b, "unchanged  %s: %s (line %d)\n", j.Job, j.Schedule, j.Line)
		case j.Action == "scheduled":
			verb := "scheduled "
			if v.DryRun {
				verb = "would set "
			}
			fmt.Fprintf(b, "%s %s: %s (line %d; was %s)\n", verb, j.Job, j.Schedule, j.Line, termText(cmp.Or(*j.Was, "none")))
		default:
			verb := "added     "
			if v.DryRun {
				verb = "would add "
			}
			fmt.Fprintf(b, "%s %s: %s (line %d; new job)\n", verb, j.Job, j.Schedule, j.Line)
		}
	}
	for _, s := range v.Skipped {
		fmt.Fprintf(b, "skipped    line %d: %s\n", s.Line, termText(s.Reason)) // it may quote the crontab
	}
	changed := "changed"
	if v.DryRun {
		changed = "to change"
	}
	fmt.Fprintf(b, "%s: %d troc jobs, %d %s, %d unchanged, %d lines skipped\n",
		v.Source, v.Found, v.Changed, changed, v.Unchanged, len(v.Skipped))
	return b.Flush()
}

// currentUser is the name of the user troc runs as, as a system
// crontab's user field names it; the uid when the user database has no
// name for it, which no crontab line names.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}
