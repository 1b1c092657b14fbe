package main

// Notifications tell people what happened to a run, through the channels
// they use: Slack, a webhook, a ping URL, mail, a program of their own.
// One file per channel (notify_slack.go, ...); this one holds what they
// share. The rules, and why:
//
//   - A notification never changes or delays what is recorded about a run.
//     troc exec records the run's end and releases the job's lock before
//     finish is called. A channel that fails is logged and added to the
//     run's note; troc's exit status stays the job's.
//   - Each channel has notify.timeout per notification, retries included:
//     at most maxAttempts tries with a doubling backoff, and Slack's
//     Retry-After honoured when it fits in that time. Channels are tried
//     independently and at once, so the slowest one bounds the extra time
//     a troc exec takes, not the sum of them.
//   - Secrets (tokens, webhook and ping URLs, passwords, headers) never
//     appear in an error, a log line, the history or the environment of a
//     program troc starts. HTTP requests are made in one place,
//     poster.post, whose errors name the host and nothing else of the URL,
//     quote no response but a known API's error code, and are masked of
//     every form of the secrets (redact.go) before they leave it.
//   - What notifies is decided by the run's status (notify.on, or the
//     job's own list) and, for failures, by the job's streak as the
//     history tells it: notify.after_failures in a row, then at most once
//     per notify.repeat; a success after notified failures says it
//     recovered. Without the history the status alone decides.
//   - The ping channel is a heartbeat, not a message: it hears of every run
//     that starts or ends, whatever notify.on says, so that the service
//     watching it sees the successes as well.
//   - A log's last lines leave the host only for a job that asked for them
//     (its notify-log setting), through every channel alike: logs hold
//     whatever the job printed.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// logTailLines is how many of the log's last lines a notification carries.
const logTailLines = 20

// channelNames are the channels in the order they are built and reported.
var channelNames = []string{"slack", "webhook", "ping", "email", "command"}

// channel is one way of sending notifications.
type channel interface {
	name() string
	// send delivers m, or says why it could not, before ctx is done.
	send(ctx context.Context, m *notice) error
}

// The events a notice is about, as the webhook's "event" key and the
// command's TROC_EVENT name them.
const (
	eventStart    = "start"    // the run started
	eventEnd      = "end"      // the run ended; no streak to tell of
	eventFailure  = "failure"  // the run failed: the first notice of this streak
	eventReminder = "reminder" // the job is still failing
	eventRecovery = "recovery" // the job succeeded after notified failures
	eventTest     = "test"     // troc notify test
	eventHealth   = "health"   // troc check --notify: the job's health changed
	eventSuspect  = "suspect"  // the run succeeded, and makes its job suspect (anomaly.go)
)

// notice is one notification: the run it is about, and what to say
// beyond the run itself.
type notice struct {
	event    string
	run      Run            // a copy: the caller's run may change meanwhile
	host     string         // this host's name in notifications
	tag      bool           // tag @channel
	failures int            // failures in a row, this one included (or before a recovery); 0: unknown
	tail     []string       // the log's last lines; nil: not included
	earlier  int            // how many lines of the log come before tail
	loc      *time.Location // for times shown
	health   string         // eventHealth's message, after "job@host: "
	rid      string         // the run's UUID, for the ping's rid=; "": none
	suspect  string         // why the run makes its job suspect; "": it does not

	pingTail    []string // the ping's body: the log's tail (notify_ping.go); nil: none
	pingEarlier int
}

// headline is the first line of every message: job@host, run, status.
// The seed's format, kept: "daily-sync@web1: run 84 - ✅: Succeeded".
func (m *notice) headline() string {
	r := &m.run
	switch m.event {
	case eventTest:
		return fmt.Sprintf("%s@%s: test notification from troc %s", r.Job, m.host, version)
	case eventHealth:
		return fmt.Sprintf("%s@%s: %s", r.Job, m.host, m.health)
	}
	id := "not recorded"
	if r.ID != 0 {
		id = strconv.FormatInt(r.ID, 10)
	}
	s := fmt.Sprintf("%s@%s: run %s - %s: %s", r.Job, m.host, id, statusEmoji[r.Status], r.Status)
	if what := m.exitText(); what != "" {
		s += " (" + what + ")"
	}
	if r.finished() && r.Status != StatusSkipped && !r.End.IsZero() {
		s += " after " + shortDuration(r.End.Sub(r.Start))
	}
	return s
}

// exitText says how an unsuccessful run ended: "exit 3", "SIGKILL", or "".
func (m *notice) exitText() string {
	r := &m.run
	switch {
	case r.Status == StatusSucceeded || !r.finished():
		return ""
	case r.Signal != 0:
		return signalName(r.Signal)
	case r.ExitCode != nil:
		return "exit " + strconv.Itoa(*r.ExitCode)
	}
	return ""
}

// lines is the message without the log: the headline, the streak, the
// note, the log's path.
func (m *notice) lines() []string {
	out := []string{m.headline()}
	switch {
	case m.event == eventReminder:
		out = append(out, fmt.Sprintf("Still failing: %d failures in a row", m.failures))
	case m.event == eventFailure && m.failures > 1:
		out = append(out, fmt.Sprintf("%d failures in a row", m.failures))
	case m.event == eventRecovery:
		out = append(out, "Recovered after "+plural(m.failures, "failure"))
	}
	if m.event == eventTest || m.event == eventHealth {
		return out
	}
	if m.suspect != "" {
		out = append(out, "Suspect: "+m.suspect)
	}
	if m.run.Note != "" {
		out = append(out, "Note: "+m.run.Note)
	}
	if m.run.Usage != nil && m.run.finished() {
		out = append(out, "Resources: "+m.run.Usage.String())
	}
	if m.run.LogFile != "" {
		out = append(out, "Log: "+m.run.LogFile)
	}
	return out
}

// text is the message as plain text, with the log's tail if it has one.
func (m *notice) text() string {
	s := strings.Join(m.lines(), "\n")
	if len(m.tail) > 0 {
		s += "\n\nLast lines of the log:\n" + strings.Join(fitTail(m.tail, m.earlier, 64<<10, 1000, nil), "\n")
	}
	return s
}

// plural says "1 failure", "3 failures".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// noticeJSON is what the webhook receives and the command reads on stdin:
// the run as troc exec prints it, and the notification's own keys.
type noticeJSON struct {
	runJSON
	Event    string   `json:"event"`
	Hostname string   `json:"hostname"` // this host's name in notifications (notify.hostname)
	Text     string   `json:"text"`     // the message, as Slack-compatible receivers take it
	Failures int      `json:"failures"` // failures in a row; 0: none or unknown
	LogTail  []string `json:"log_tail"` // null unless the job's notify-log setting is on
}

// jsonView returns m as the webhook and the command receive it.
func (m *notice) jsonView() noticeJSON {
	return noticeJSON{
		runJSON:  m.run.jsonView(m.loc),
		Event:    m.event,
		Hostname: m.host,
		Text:     strings.Join(m.lines(), "\n"),
		Failures: m.failures,
		LogTail:  fitTail(m.tail, m.earlier, 64<<10, 1000, nil),
	}
}

// fitTail returns the last lines of tail that fit in budget characters,
// each line cut to maxLine characters and passed through esc (if not
// nil), with a first line "... N earlier lines" when any of the log's
// lines are not shown: N counts every line of the log before the first
// shown, the earlier lines before tail included. It returns nil for a nil
// tail.
func fitTail(tail []string, earlier, budget, maxLine int, esc func(string) string) []string {
	if tail == nil {
		return nil
	}
	var kept []string
	used := 0
	i := len(tail) - 1
	for ; i >= 0; i-- {
		line := cutLine(strings.ToValidUTF8(tail[i], "\uFFFD"), maxLine)
		if esc != nil {
			line = esc(line)
		}
		n := utf8.RuneCountInString(line) + 1
		const marker = 30 // room for "... N earlier lines"
		if used+n > budget-marker && (i > 0 || earlier > 0) || used+n > budget {
			break
		}
		used += n
		kept = append(kept, line)
	}
	if left := i + 1 + earlier; left > 0 {
		kept = append(kept, fmt.Sprintf("... %s", plural(left, "earlier line")))
	}
	slices.Reverse(kept)
	return kept
}

// cutLine shortens s to at most limit characters, saying how much it cut.
func cutLine(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	keep := max(limit-len(fmt.Sprintf(" [%d more characters]", len(r))), 0)
	return string(r[:keep]) + fmt.Sprintf(" [%d more characters]", len(r)-keep)
}

// channelSetup is one channel that the configuration mentions: ready to
// send, or why not.
type channelSetup struct {
	name string
	ch   channel // nil when err is set
	err  error   // what is wrong with its settings, naming the key
}

// configuredChannels returns every channel that the configuration
// mentions, in the order of channelNames.
func configuredChannels(cfg *Config, p *poster) []channelSetup {
	c := &cfg.Notify
	var out []channelSetup
	add := func(name string, ch channel, err error) {
		// A channel whose secret troc did not take from the file is
		// not used, and says why: notify.slack.token is slack's.
		for _, key := range cfg.UnusedSecrets {
			if strings.HasPrefix(key, "notify."+name+".") {
				ch, err = nil, fmt.Errorf("%s not used: %s", key, cfg.unusedSecretReason())
				break
			}
		}
		if ch != nil || err != nil {
			out = append(out, channelSetup{name: name, ch: ch, err: err})
		}
	}
	ch, err := newSlackChannel(c, p)
	add("slack", ch, err)
	ch, err = newWebhookChannel(c, p)
	add("webhook", ch, err)
	ch, err = newPingChannel(c, p)
	add("ping", ch, err)
	ch, err = newEmailChannel(c, p)
	add("email", ch, err)
	ch, err = newCommandChannel(c)
	add("command", ch, err)
	return out
}

// errNoChannel says that no channel is configured at all.
var errNoChannel = errors.New("no notification channel is configured " +
	"(set notify.slack.token and notify.slack.channel, notify.slack.webhook, notify.webhook.url, " +
	"notify.ping.url, notify.email.to or notify.command)")

// checkNotifyRules checks the settings that every channel shares, and
// returns their problems and the timeout to use.
func checkNotifyRules(c *NotifyConfig) (problems []string, timeout time.Duration) {
	timeout = c.Timeout
	if timeout <= 0 {
		problems = append(problems, "notify.timeout: must be more than 0 (using 10s)")
		timeout = 10 * time.Second
	}
	if c.AfterFailures < 1 {
		problems = append(problems, "notify.after_failures: must be at least 1 (using 1)")
	}
	return problems, timeout
}

// parseHTTPURL parses the URL in the setting key. Its errors name the
// key and never quote the URL: it may be a secret.
func parseHTTPURL(key, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: not a valid URL", key)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%s: not an http or https URL", key)
	case u.Host == "":
		return nil, fmt.Errorf("%s: the URL has no host", key)
	}
	return u, nil
}

// runNotifier sends the notifications of one run. Its methods do nothing
// on a nil *runNotifier.
type runNotifier struct {
	cfg       *NotifyConfig
	job       Job // the job's settings as known when built; finish reads them again
	log       *slog.Logger
	loc       *time.Location
	channels  []channel    // the channels that take messages
	ping      *pingChannel // nil: no ping URL
	configErr error        // the channels left out, and why
	timeout   time.Duration
	secrets   secretTexts
	now       func() time.Time

	rid string // the run's UUID, for the ping

	started   chan struct{} // closed when begin's requests are done; nil before begin
	beginErrs []string      // what begin could not send, for the note
}

// newRunNotifier returns the notifier of a run of job, with every channel
// that the configuration sets up correctly. Its error names the key of
// each problem it found (a token without a channel, an invalid URL), or
// says that no channel is configured: the caller logs it and the job runs
// anyway, notified through the channels that work, and finish adds the
// problem to the run's note. The notifier is never nil.
func newRunNotifier(cfg *Config, job Job, log *slog.Logger) (*runNotifier, error) {
	return newNotifier(cfg, job, log, false)
}

// newPingNotifier is newRunNotifier for a run that only pings
// (notify.ping.every): the ping channel alone, and only its problems.
func newPingNotifier(cfg *Config, job Job, log *slog.Logger) (*runNotifier, error) {
	return newNotifier(cfg, job, log, true)
}

func newNotifier(cfg *Config, job Job, log *slog.Logger, pingOnly bool) (*runNotifier, error) {
	p := newPoster(notifySecrets(&cfg.Notify))
	problems, timeout := checkNotifyRules(&cfg.Notify)
	if cfg.Notify.CAFile != "" {
		if err := p.trustCAs(cfg.Notify.CAFile); err != nil {
			problems = append(problems, err.Error())
		}
	}
	n := &runNotifier{
		cfg:     &cfg.Notify,
		job:     job,
		log:     log,
		loc:     cfg.location(),
		timeout: timeout,
		secrets: p.secrets,
		now:     time.Now,
		rid:     newRunID(),
	}
	setups := configuredChannels(cfg, p)
	if pingOnly {
		setups = slices.DeleteFunc(setups, func(s channelSetup) bool { return s.name != "ping" })
	}
	for _, s := range setups {
		switch ch := s.ch.(type) {
		case nil:
			problems = append(problems, s.err.Error())
		case *pingChannel:
			n.ping = ch
		default:
			n.channels = append(n.channels, ch)
		}
	}
	if len(setups) == 0 {
		problems = append(problems, errNoChannel.Error())
	}
	if len(problems) > 0 {
		n.configErr = errors.New(n.redact(strings.Join(problems, "; ")))
	}
	return n, n.configErr
}

// notifyOn returns the statuses that notify for job: its own list, or
// the configuration's.
func (n *runNotifier) notifyOn(job Job) []Status {
	if job.NotifyOn != nil {
		return job.NotifyOn
	}
	return n.cfg.On
}

// newNotice returns a notice of event about a copy of run.
func (n *runNotifier) newNotice(event string, run *Run) *notice {
	return &notice{event: event, run: *run, host: n.cfg.Hostname, tag: n.cfg.Status[run.Status], loc: n.loc, rid: n.rid}
}

// begin tells the ping URL, and the message channels if the job's
// statuses include Running, that run has started. It returns at once: the
// requests go on in the background, and finish waits for them.
func (n *runNotifier) begin(ctx context.Context, run *Run) {
	if n == nil || n.started != nil {
		return
	}
	n.started = make(chan struct{})
	var targets []channel
	if n.ping != nil {
		targets = append(targets, n.ping)
	}
	if slices.Contains(n.notifyOn(n.job), StatusRunning) {
		targets = append(targets, n.channels...)
	}
	if len(targets) == 0 {
		close(n.started)
		return
	}
	m := n.newNotice(eventStart, run)
	go func() {
		defer close(n.started)
		noticeFor := func(channel) *notice { return m }
		n.beginErrs = n.report(targets, n.sendAll(ctx, targets, noticeFor), noticeFor)
	}()
}

// finish sends what the end of run calls for. It is called once the run's
// final state is recorded and the job's lock released. It waits for
// begin's requests, reads the job's settings and its streak of failures
// from db (nil when the history is unavailable: then the run's status
// alone decides), sends through every channel at once, and adds what
// failed, and any configuration problem, to the run's note, in the history
// and in run itself. logTail returns the log's last lines and how many
// lines come before them; it is called only for a job whose notify-log
// setting is on.
func (n *runNotifier) finish(ctx context.Context, db *DB, run *Run, logTail func(maxLines int) (lines []string, earlier int)) {
	if n == nil {
		return
	}
	if n.started != nil {
		<-n.started // bounded: begin's requests have their timeout
	}
	if run.ID == 0 {
		db = nil // the run is not in the history (spooled): it cannot tell the streak
	}
	job := n.settings(ctx, db, run.Job)
	m, pm := n.notices(ctx, db, job, run, logTail)
	var targets []channel
	if pm != nil {
		targets = append(targets, n.ping)
	}
	if m != nil {
		targets = append(targets, n.channels...)
	}
	noticeFor := func(ch channel) *notice {
		if _, ok := ch.(*pingChannel); ok {
			return pm
		}
		return m
	}
	results := n.sendAll(ctx, targets, noticeFor)
	if m != nil && db != nil && (m.event == eventFailure || m.event == eventReminder) && n.delivered(targets, results) {
		// A message went out: this streak has been told of.
		if err := db.recordAlert(ctx, run.Job, run.ID, n.now()); err != nil {
			n.log.Warn("Cannot record the notification in the history: " + err.Error())
		}
	}
	n.noteFailures(ctx, db, run, n.report(targets, results, noticeFor))
}

// settings returns the job's notification settings as the history has
// them now, or as they were when the run began.
func (n *runNotifier) settings(ctx context.Context, db *DB, name string) Job {
	if db == nil {
		return n.job
	}
	job, err := db.job(ctx, name)
	if err != nil {
		n.log.Warn("Cannot read the job's notification settings: " + err.Error())
		return n.job
	}
	return job
}

// notices returns what the run's end tells: the message for the message
// channels (nil when the rules say nothing), and the ping's heartbeat (nil
// for a Skipped run or without a ping URL), each with the log's tail for a
// job that asks for it.
func (n *runNotifier) notices(ctx context.Context, db *DB, job Job, run *Run, logTail func(int) ([]string, int)) (m, pm *notice) {
	if len(n.channels) > 0 {
		var why string
		if m, why = n.decide(ctx, db, job, run); m == nil {
			n.log.Info("No notification: " + why)
		}
		m = n.withSuspicion(ctx, db, job, run, m)
	}
	if n.ping != nil && run.Status != StatusSkipped {
		pm = n.newNotice(eventEnd, run)
	}
	if !job.NotifyLog || logTail == nil || m == nil && pm == nil {
		return m, pm
	}
	// The log is read once (counting its lines is a pass over all of it):
	// for the ping's body, a longer tail, as healthchecks.io keeps 100 kB,
	// whose end is the message's.
	want := logTailLines
	if pm != nil {
		want = pingTailLines
	}
	tail, earlier := logTail(want)
	if tail == nil {
		tail = []string{}
	}
	if pm != nil {
		pm.pingTail, pm.pingEarlier = tail, earlier
	}
	if m != nil {
		k := max(len(tail)-logTailLines, 0)
		m.tail, m.earlier = tail[k:], earlier+k
	}
	return m, pm
}

// withSuspicion adds to m why the run makes its job suspect, if it does
// (a run that succeeded, judged against the job's history), or makes the
// notice for it when the rules called for none and the job's statuses
// include suspect. It returns m as it is when the history is unavailable.
func (n *runNotifier) withSuspicion(ctx context.Context, db *DB, job Job, run *Run, m *notice) *notice {
	if db == nil || run.Status != StatusSucceeded {
		return m
	}
	states, err := db.jobStates(ctx, run.Job, time.Time{})
	if err != nil || len(states) == 0 {
		if err != nil {
			n.log.Warn("Cannot read the job's history to judge the run: " + err.Error())
		}
		return m
	}
	rep := states[0].health(n.now())
	if rep.Health != HealthSuspect {
		return m
	}
	if m == nil {
		if !slices.Contains(n.notifyOn(job), StatusSuspect) {
			return nil
		}
		m = n.newNotice(eventSuspect, run)
	}
	m.suspect = rep.Reason
	return m
}

// delivered reports whether a message channel (not the ping) took the
// notice.
func (n *runNotifier) delivered(targets []channel, results []error) bool {
	for i, ch := range targets {
		if _, ping := ch.(*pingChannel); !ping && results[i] == nil {
			return true
		}
	}
	return false
}

// noteFailures adds to the run's note, and to its row, what went wrong
// with its notifications: settings, the start's sends and the end's.
func (n *runNotifier) noteFailures(ctx context.Context, db *DB, run *Run, failed []string) {
	var notes []string
	if n.configErr != nil {
		notes = append(notes, "notification settings: "+n.configErr.Error())
	}
	notes = append(append(notes, n.beginErrs...), failed...)
	if len(notes) == 0 {
		return
	}
	note := strings.Join(notes, "; ")
	run.addNote("%s", note)
	if db != nil {
		if err := db.appendRunNote(ctx, run, note); err != nil {
			n.log.Warn("Cannot add the notification failures to the run's note: " + err.Error())
		}
	}
}

// decide returns the notice that the end of run calls for, or nil and
// why there is none.
func (n *runNotifier) decide(ctx context.Context, db *DB, job Job, run *Run) (*notice, string) {
	on, from := n.cfg.On, "notify.on"
	if job.NotifyOn != nil {
		on, from = job.NotifyOn, "the job's notify-on list"
	}
	wanted := slices.Contains(on, run.Status)
	m := n.newNotice(eventEnd, run)

	var st alertState
	known := false
	if db != nil && (isFailure(run.Status) || run.Status == StatusSucceeded && n.cfg.Recovery) {
		var err error
		st, err = db.alertState(ctx, run.Job, run.ID)
		if err != nil {
			n.log.Warn("Cannot read the job's failures from the history, notifying on its status alone: " + err.Error())
		}
		known = err == nil
	}
	// An alert went out during the current streak of failures.
	alerted := known && st.alertRun > st.lastSuccess

	notOn := fmt.Sprintf("%s is not in %s (%s)", run.Status, from, statusList(on))
	switch {
	case isFailure(run.Status):
		if !wanted {
			return nil, notOn
		}
		m.event = eventFailure
		if !known {
			return m, ""
		}
		m.failures = st.failures + 1
		after := max(n.cfg.AfterFailures, 1)
		switch {
		case m.failures < after:
			return nil, fmt.Sprintf("%s in a row, notify.after_failures is %d", plural(m.failures, "failure"), after)
		case !alerted:
			return m, ""
		case n.cfg.Repeat > 0 && n.now().Sub(st.alertTime) < n.cfg.Repeat:
			return nil, fmt.Sprintf("still failing (%s in a row), last notified %s ago, notify.repeat is %s",
				plural(m.failures, "failure"), shortDuration(n.now().Sub(st.alertTime)), n.cfg.Repeat)
		}
		m.event = eventReminder
		return m, ""
	case run.Status == StatusSucceeded && n.cfg.Recovery && alerted && st.failures > 0:
		m.event = eventRecovery
		m.failures = st.failures
		return m, ""
	case wanted:
		return m, ""
	}
	return nil, notOn
}

// sendHealth tells every message channel (not the ping URL, which hears
// of runs) that a job's health changed: message says how, after
// "job@host: "; tag says whether to tag @channel. lastRun may be nil. It
// returns nil if at least one channel delivered it.
func (n *runNotifier) sendHealth(ctx context.Context, job string, lastRun *Run, message string, tag bool) error {
	if n == nil || len(n.channels) == 0 {
		return errNoChannel
	}
	run := Run{Job: job}
	if lastRun != nil {
		run = *lastRun
	}
	m := &notice{event: eventHealth, run: run, host: n.cfg.Hostname, tag: tag, loc: n.loc, health: message}
	noticeFor := func(channel) *notice { return m }
	results := n.sendAll(ctx, n.channels, noticeFor)
	failed := n.report(n.channels, results, noticeFor)
	if len(failed) == len(n.channels) {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// sendAll sends through every target at once, each within the timeout,
// and returns each one's error.
func (n *runNotifier) sendAll(ctx context.Context, targets []channel, notice func(channel) *notice) []error {
	return sendEach(ctx, n.timeout, targets, notice)
}

// sendEach sends notice(ch) through each of targets at once, each within
// timeout, and returns their errors in targets' order.
func sendEach(ctx context.Context, timeout time.Duration, targets []channel, notice func(channel) *notice) []error {
	results := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, ch := range targets {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = ch.send(ctx, notice(ch))
		})
	}
	wg.Wait()
	return results
}

// report logs the outcome of sendAll, and returns what failed as
// sentences for the run's note, redacted.
func (n *runNotifier) report(targets []channel, results []error, notice func(channel) *notice) []string {
	var failed []string
	for i, ch := range targets {
		m := notice(ch)
		if results[i] == nil {
			n.log.Info(fmt.Sprintf("Notification sent by %s (%s)", ch.name(), m.event))
			continue
		}
		msg := fmt.Sprintf("%s notification by %s failed: %s", m.event, ch.name(), n.redact(results[i].Error()))
		n.log.Warn(strings.ToUpper(msg[:1]) + msg[1:])
		failed = append(failed, msg)
	}
	return failed
}

// redact replaces every secret in s with "[secret]".
func (n *runNotifier) redact(s string) string { return n.secrets.redact(s) }

// withoutSecrets returns environ less the TROC_* variables that hold
// secrets (TROC_NOTIFY_SLACK_TOKEN, ...): the programs troc starts, the
// job among them, have no business with them.
func withoutSecrets(environ []string) []string {
	secret := map[string]bool{}
	for _, k := range configKeys {
		if k.secret {
			secret[k.envName()] = true
		}
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !secret[name] {
			out = append(out, kv)
		}
	}
	return out
}
