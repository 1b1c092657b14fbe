package main

// troc --host: the read and control commands, run by the troc of other
// hosts through the system's ssh client and shown here as if they were
// local. The choices, and why:
//
//   - The system ssh, not a library: the user's ~/.ssh/config, agent, jump
//     hosts and known_hosts apply as they set them up, and troc gains no
//     dependency and no key handling of its own.
//   - The remote troc answers in JSON, and this troc renders the answer
//     with the same code as a local one: a table looks the same wherever
//     it came from, in this troc's time zone and colours.
//   - ssh hands the remote command to the remote user's shell as one line
//     of text. Every word of it is single-quoted here, so no job name,
//     path or flag value can be read as shell syntax over there; a host
//     name is checked before it reaches ssh's command line, so it cannot
//     pass for an option.
//   - Several hosts are asked in parallel, each within remote.timeout. A
//     host that does not answer is reported in one line, the others'
//     answers still show, and the exit status is 1.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// remote runs one command line on a set of hosts.
type remote struct {
	a     *app
	cfg   *Config
	hosts []remoteHost
}

// remote is troc --host ... COMMAND: args is the command line after the
// remote flags.
func (a *app) remote(ctx context.Context, t remoteTargets, args []string) error {
	cfg, err := LoadConfig(a.env, func(msg string) { fmt.Fprintf(a.stderr, "troc: %s\n", msg) })
	if err != nil {
		return err
	}
	hosts, err := resolveHosts(cfg, t)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usagef("no command given after --host: want %s", hostCommands())
	}
	r := &remote{a: a, cfg: cfg, hosts: hosts}
	path := args[0]
	if isGroup(path) && len(args) > 1 {
		path += " " + args[1]
	}
	if wantsHelp(args) {
		return r.stream(ctx, args, false)
	}
	if c := findCommand(path); c != nil && c.onHosts != nil {
		return c.onHosts(r, ctx, args)
	}
	return usagef("troc --host runs %s, not %q", hostCommands(), path)
}

// wantsHelp reports whether a command line asks for its usage: -h, -help
// or --help, or the word help, before any "--".
func wantsHelp(args []string) bool {
	for _, arg := range args {
		if arg == "--" {
			return false
		}
		if helpWord(arg) {
			return true
		}
	}
	return false
}

// outcome tallies the hosts that gave no usable answer.
type outcome struct {
	failed, usage int
	unhealthy     bool // troc check: a job needs attention
}

// fail reports a host that gave no usable answer, in one line.
func (r *remote) fail(o *outcome, ans *answer, err error) {
	o.failed++
	if ans.usage {
		o.usage++
	}
	fmt.Fprintf(r.a.stderr, "troc: %s: %s\n", ans.host.name, termText(err.Error()))
}

// relay passes on what a host that answered said on stderr (a migration
// of its history, say), each line marked with the host's name.
func (r *remote) relay(ans *answer) {
	sc := bufio.NewScanner(bytes.NewReader(ans.stderr))
	for sc.Scan() {
		fmt.Fprintf(r.a.stderr, "%s: %s\n", ans.host.name, termText(sc.Text()))
	}
}

// showTable reports whether a table of rows rows is worth printing: not
// a bare header when hosts failed and none answered with a row, since
// their errors say all there is.
func (o outcome) showTable(rows int) bool { return rows > 0 || o.failed == 0 }

// err is the exit status of a command run on every host: 2 if every
// failure was the command line's, 1 if any host failed or a job needs
// attention.
func (o outcome) err() error {
	switch {
	case o.failed > 0 && o.failed == o.usage:
		return exitStatus(exitUsage)
	case o.failed > 0 || o.unhealthy:
		return exitStatus(exitError)
	}
	return nil
}

// hostJSON is one host's JSON answer, decoded.
type hostJSON[T any] struct {
	host  string
	value T
}

// askJSON asks every host for a JSON answer (adding --json to args unless
// they ask for it already) and decodes each into a T. okStatus, besides 0, is an
// exit status that still comes with an answer (troc check's 1).
func askJSON[T any](ctx context.Context, r *remote, args []string, okStatus int, o *outcome) []hostJSON[T] {
	if !userWantsJSON(args) {
		args = append(slices.Clone(args), "--json")
	}
	var values []hostJSON[T]
	for _, ans := range r.askGood(ctx, args, okStatus, o) {
		var v T
		if err := json.Unmarshal(ans.stdout, &v); err != nil {
			r.fail(o, &ans, fmt.Errorf("troc there gave an answer this troc cannot read (a different version?): %v", err))
			continue
		}
		values = append(values, hostJSON[T]{host: ans.host.name, value: v})
	}
	return values
}

// userWantsJSON reports whether the user asked for JSON rather than a
// table: --json, or --json=VALUE with any value the flag package takes for
// true ("1", "t", "TRUE"...), the last one given winning, as it does there.
func userWantsJSON(args []string) bool {
	want := false
	for _, v := range flagValues(args, "json", false) {
		b, err := strconv.ParseBool(v)
		want = err == nil && b
	}
	return want || argsFormat(args) == formatJSON
}

// argsFormat is the output format a run list or job list command line
// asks for with -f or --format (the last one given), as the hosts'
// troc reads it; the hosts themselves are asked for JSON.
func argsFormat(args []string) outputFormat {
	f := formatPretty
	for i := 0; i < len(args) && args[i] != "--"; i++ {
		name, value, hasValue, ok := splitFlag(args[i])
		if !ok || name != "f" && name != "format" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		f = outputFormat(strings.ToLower(value))
	}
	return f
}

// several reports whether there are several hosts, whose tables then
// gain a HOST column.
func (r *remote) several() bool { return len(r.hosts) > 1 }

func (r *remote) display() display { return r.a.newDisplay(r.cfg, r.a.stdout) }

// runList is troc --host ... run list: every host's runs merged, newest
// first, at most --limit of them in all.
func (r *remote) runList(ctx context.Context, args []string) error {
	var o outcome
	type hostRun struct {
		host string
		run  *Run
		view runJSON
	}
	var list []hostRun
	for _, hv := range askJSON[[]runJSON](ctx, r, args, 0, &o) {
		for _, v := range hv.value {
			run, err := runFromView(v)
			if err != nil {
				return fmt.Errorf("%s: %v", hv.host, err)
			}
			list = append(list, hostRun{hv.host, run, v})
		}
	}
	slices.SortStableFunc(list, func(x, y hostRun) int { return y.run.Start.Compare(x.run.Start) })
	if limit := intFlag(args, "limit", 20); limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	if userWantsJSON(args) {
		views := make([]runJSON, len(list))
		for i, hr := range list {
			views[i] = hr.view
			views[i].Host = hr.host
		}
		if err := writeJSONList(r.a.stdout, views); err != nil {
			return err
		}
		return o.err()
	}
	if !o.showTable(len(list)) {
		return o.err()
	}
	runs := make([]*Run, len(list))
	var hosts []string
	for i, hr := range list {
		runs[i] = hr.run
		if r.several() {
			hosts = append(hosts, hr.host)
		}
	}
	if err := writeRunTable(r.a.stdout, r.display().forFormat(argsFormat(args)), time.Now(), runs, hosts); err != nil {
		return err
	}
	return o.err()
}

// intFlag returns the value of an integer flag in a command line (the
// last one, as the flag package takes), or def when it is not there or not
// a number (the remote troc then says so).
func intFlag(args []string, name string, def int) int {
	n := def
	for _, v := range flagValues(args, name, true) {
		if i, err := strconv.Atoi(v); err == nil {
			n = i
		}
	}
	return n
}

// flagValues returns the values given to flag name in a command line, in
// order, read as the flag package reads them: -name or --name, with
// "=VALUE" or, when it takes a value, the next word; a boolean flag alone
// is "true". Reading stops at "--". The remote troc parses the same line
// with the command's own flags and rejects what is wrong: these are only
// what troc needs to know here to render the answer.
func flagValues(args []string, name string, takesValue bool) []string {
	var values []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		flagName, value, hasValue, ok := splitFlag(args[i])
		if !ok || flagName != name {
			continue
		}
		switch {
		case hasValue:
			values = append(values, value)
		case !takesValue:
			values = append(values, "true")
		case i+1 < len(args):
			i++
			values = append(values, args[i])
		}
	}
	return values
}

// runShow is troc --host ... run show: JSON, the only form, with the
// host's name as its host.
func (r *remote) runShow(ctx context.Context, args []string) error {
	var o outcome
	var views []runShowJSON
	for _, hv := range askJSON[runShowJSON](ctx, r, args, 0, &o) {
		hv.value.Host = hv.host
		views = append(views, hv.value)
	}
	if err := writeObjects(r, views); err != nil {
		return err
	}
	return o.err()
}

// writeObjects prints one object per host: alone for one host, as a list
// for several.
func writeObjects[T any](r *remote, views []T) error {
	if !r.several() {
		if len(views) == 0 {
			return nil
		}
		return writeJSON(r.a.stdout, views[0])
	}
	return writeJSONList(r.a.stdout, views)
}

// jobList is troc --host ... job list: every host's jobs, by name.
func (r *remote) jobList(ctx context.Context, args []string) error {
	var o outcome
	var views []jobJSON
	for _, hv := range askJSON[[]jobJSON](ctx, r, args, 0, &o) {
		for _, v := range hv.value {
			v.Host = hv.host
			views = append(views, v)
		}
	}
	return printJobs(r, args, views, o, stateFromView,
		func(v jobJSON) string { return v.Host }, writeJobTable)
}

// printJobs prints jobs of every host (troc job list, troc check) sorted
// by name, then host: the views as JSON, or rebuilt into jobs and health
// reports for table.
func printJobs[T any](r *remote, args []string, views []T, o outcome,
	from func(T) (*jobState, healthReport, error), host func(T) string,
	table func(io.Writer, display, []*jobState, []healthReport, []string) error) error {
	type row struct {
		view   T
		state  *jobState
		report healthReport
	}
	rows := make([]row, len(views))
	for i, v := range views {
		s, rep, err := from(v)
		if err != nil {
			return fmt.Errorf("%s: %v", host(v), err)
		}
		rows[i] = row{v, s, rep}
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(strings.Compare(x.state.Name, y.state.Name), strings.Compare(host(x.view), host(y.view)))
	})
	var err error
	if userWantsJSON(args) {
		sorted := make([]T, len(rows))
		for i, row := range rows {
			sorted[i] = row.view
		}
		err = writeJSONList(r.a.stdout, sorted)
	} else if o.showTable(len(rows)) {
		states := make([]*jobState, len(rows))
		reports := make([]healthReport, len(rows))
		var hosts []string
		for i, row := range rows {
			states[i], reports[i] = row.state, row.report
			if r.several() {
				hosts = append(hosts, host(row.view))
			}
		}
		err = table(r.a.stdout, r.display().forFormat(argsFormat(args)), states, reports, hosts)
	}
	if err != nil {
		return err
	}
	return o.err()
}

// jobShow is troc --host ... job show: the job on each host, one after
// the other under the host's name when there are several.
func (r *remote) jobShow(ctx context.Context, args []string) error {
	var o outcome
	var views []jobShowJSON
	for _, hv := range askJSON[jobShowJSON](ctx, r, args, 0, &o) {
		hv.value.Host = hv.host
		views = append(views, hv.value)
	}
	if userWantsJSON(args) {
		if err := writeObjects(r, views); err != nil {
			return err
		}
		return o.err()
	}
	for i, v := range views {
		s, rep, err := stateFromView(v.jobJSON)
		runs := make([]*Run, len(v.Runs))
		for j := range v.Runs {
			if err == nil {
				runs[j], err = runFromView(v.Runs[j])
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %v", v.Host, err)
		}
		if r.several() {
			if i > 0 {
				fmt.Fprintln(r.a.stdout)
			}
			fmt.Fprintf(r.a.stdout, "==> %s <==\n", v.Host)
		}
		if err := writeJobShow(r.a.stdout, r.display(), time.Now(), s, rep, runs, v.Resources); err != nil {
			return err
		}
	}
	return o.err()
}

// check is troc --host ... check: every host's jobs, by name;
// it exits 1 when a job anywhere needs attention.
func (r *remote) check(ctx context.Context, args []string) error {
	var o outcome
	var views []checkJSON
	for _, hv := range askJSON[[]checkJSON](ctx, r, args, exitError, &o) {
		for _, v := range hv.value {
			v.Host = hv.host
			views = append(views, v)
			o.unhealthy = o.unhealthy || !v.Health.healthy()
		}
	}
	return printJobs(r, args, views, o, checkFromView, func(v checkJSON) string { return v.Host }, writeCheckTable)
}

// askGood asks every host and returns the answers that came back with
// status 0 or okStatus (troc check's 1 still comes with an answer),
// having passed on what they said on stderr; it reports the others.
func (r *remote) askGood(ctx context.Context, args []string, okStatus int, o *outcome) []answer {
	var good []answer
	for _, ans := range r.askAll(ctx, args) {
		if ans.err == nil && ans.status != 0 && ans.status != okStatus {
			ans.refused()
		}
		if ans.err != nil {
			r.fail(o, &ans, ans.err)
			continue
		}
		r.relay(&ans)
		good = append(good, ans)
	}
	return good
}

// refused says why the remote troc refused the command: it is too old to
// know it (or the --json this troc asks for), or the command line is
// wrong (a usage error). An old troc may print its usage after the line
// that says why, or before it: every line is looked at, and the one that
// says it is the one quoted, never the usage.
func (ans *answer) refused() {
	if ans.status == exitUsage {
		for _, line := range strings.Split(string(ans.stderr), "\n") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "troc: ")
			if strings.HasPrefix(line, "unknown command") || strings.Contains(line, "flag provided but not defined: -json") {
				ans.err = fmt.Errorf("troc there is too old for this command (it said: %s)", line)
				return
			}
		}
	}
	ans.err, ans.usage = errors.New(lastLine(ans.stderr)), ans.status == exitUsage
}

// metrics is troc --host ... metrics: every host's metrics in one
// exposition, each sample labelled with its host.
func (r *remote) metrics(ctx context.Context, args []string) error {
	var o outcome
	var m metricsMerger
	for _, ans := range r.askGood(ctx, args, 0, &o) {
		m.add(ans.host.name, ans.stdout)
	}
	if _, err := r.a.stdout.Write(m.bytes()); err != nil {
		return err
	}
	return o.err()
}

// version is troc --host ... version: which troc each host has, to tell
// which is too old for a command.
func (r *remote) version(ctx context.Context, args []string) error {
	var o outcome
	var rows [][]cell
	var hosts []string
	if userWantsJSON(args) {
		var views []versionJSON
		for _, hv := range askJSON[versionJSON](ctx, r, args, 0, &o) {
			hv.value.Host = hv.host
			views = append(views, hv.value)
		}
		if err := writeObjects(r, views); err != nil {
			return err
		}
		return o.err()
	}
	for _, ans := range r.askGood(ctx, args, 0, &o) {
		rows = append(rows, []cell{{text: strings.TrimSpace(string(ans.stdout))}})
		hosts = append(hosts, ans.host.name)
	}
	if !o.showTable(len(rows)) {
		return o.err()
	}
	header, rows := withHosts([]string{"VERSION"}, rows, hosts)
	if err := writeTable(r.a.stdout, header, rows); err != nil {
		return err
	}
	return o.err()
}

// runLog is troc --host ... run log: from one host, the log as it comes;
// from several, each host's under its name.
func (r *remote) runLog(ctx context.Context, args []string) error {
	if !r.several() {
		return r.stream(ctx, args, false)
	}
	var o outcome
	for i, ans := range r.askGood(ctx, args, 0, &o) {
		if i > 0 {
			fmt.Fprintln(r.a.stdout)
		}
		fmt.Fprintf(r.a.stdout, "==> %s <==\n", ans.host.name)
		if _, err := r.a.stdout.Write(ans.stdout); err != nil {
			return err
		}
	}
	return o.err()
}

// runKill is troc --host H run kill: the confirmation is asked here, with
// what the run is, and the remote troc is then told --force.
func (r *remote) runKill(ctx context.Context, args []string) error {
	if r.several() {
		return usagef("run kill takes one --host: run ids are each host's own")
	}
	fs := newFlagSet("troc run kill")
	idFlag, sigName, force := killFlags(fs)
	id, err := r.a.parseRunArgs(fs, args[2:], idFlag)
	if err != nil {
		return err
	}
	sig, err := parseSignal(*sigName)
	if err != nil {
		return err
	}
	if !*force && r.a.askable() {
		var o outcome
		shown := askJSON[runShowJSON](ctx, r, []string{"run", "show", strconv.FormatInt(id, 10)}, 0, &o)
		if len(shown) == 0 {
			return o.err()
		}
		v := shown[0].value
		question := fmt.Sprintf("Send %s to run %d of %s on %s (process group %d: %s)?",
			signalName(sig), id, v.Job, r.hosts[0].name, deref(v.PID), truncate(v.Command, 60))
		if !r.a.confirm(question) {
			return errors.New("not confirmed; no signal sent")
		}
	}
	return r.stream(ctx, []string{"run", "kill", "-r", strconv.FormatInt(id, 10), "--signal", *sigName, "--force"}, false)
}

// metricsMerger joins several hosts' Prometheus expositions into one, in
// which each family is written once with every host's samples, and each
// sample gains a host label.
type metricsMerger struct {
	order    []string                 // family names, in the order first seen
	families map[string]*mergedFamily // by name
}

type mergedFamily struct {
	meta     []string // its # HELP and # TYPE lines, from one host
	metaFrom string   // that host
	samples  []string
}

// add adds one host's exposition.
func (m *metricsMerger) add(host string, text []byte) {
	if m.families == nil {
		m.families = map[string]*mergedFamily{}
	}
	family := func(name string) *mergedFamily {
		f, ok := m.families[name]
		if !ok {
			f = &mergedFamily{}
			m.families[name] = f
			m.order = append(m.order, name)
		}
		return f
	}
	label := `host="` + escapeLabelValue(host) + `"`
	var current *mergedFamily // the family the lines belong to
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE "):
			name, _, _ := strings.Cut(line[len("# HELP "):], " ")
			current = family(name)
			if current.metaFrom == "" || current.metaFrom == host {
				current.meta, current.metaFrom = append(current.meta, line), host
			}
		case strings.HasPrefix(line, "#"):
		default:
			if current == nil {
				name, _, _ := strings.Cut(line, " ")
				name, _, _ = strings.Cut(name, "{")
				current = family(name)
			}
			current.samples = append(current.samples, withLabel(line, label))
		}
	}
}

// withLabel adds label first among a sample line's labels.
func withLabel(line, label string) string {
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		if line[i] == '{' {
			if strings.HasPrefix(line[i+1:], "}") {
				return line[:i+1] + label + line[i+1:]
			}
			return line[:i+1] + label + "," + line[i+1:]
		}
		return line[:i] + "{" + label + "}" + line[i:]
	}
	return line
}

// bytes is the merged exposition.
func (m *metricsMerger) bytes() []byte {
	var b bytes.Buffer
	for _, name := range m.order {
		f := m.families[name]
		for _, line := range f.meta {
			b.WriteString(line)
			b.WriteByte('\n')
		}
		for _, line := range f.samples {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// runGrep is troc --host ... run grep: one host's answer as it comes;
// several hosts' one after the other, each line starting HOST:. The exit
// status is grep's: 0 when a line matched anywhere, 1 when none did, 2
// when a host gave no answer.
func (r *remote) runGrep(ctx context.Context, args []string) error {
	if !r.several() {
		return r.stream(ctx, args, false)
	}
	var o outcome
	matched := false
	w := bufio.NewWriter(r.a.stdout)
	for _, ans := range r.askGood(ctx, args, exitError, &o) {
		matched = matched || ans.status == 0
		for _, line := range bytes.SplitAfter(ans.stdout, []byte{'\n'}) {
			if len(line) > 0 {
				w.WriteString(ans.host.name + ":")
				w.Write(line)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	switch {
	case o.failed > 0:
		return exitStatus(exitGrepError)
	case !matched:
		return exitStatus(exitError)
	}
	return nil
}
