package main

// Every setting troc has: its key, kind, default and description, and
// where its value lives in Config. The generated config file and the
// TROC_* variables come from this one list; the README's table is kept by
// hand.

import (
	"errors"
	"fmt"
	"strings"
)

// keyKind is the type of a setting's value, and so how its text converts.
type keyKind int

const (
	kindString   keyKind = iota // any text, taken as is
	kindPath                    // a file or directory: see expandPath
	kindBool                    // true or false
	kindInt                     // a decimal integer
	kindDuration                // see parseDuration
	kindColor                   // a colour name: see colorCode
	kindStatuses                // comma-separated statuses: see parseNotifyList
)

// configKey describes one setting. Fields, in the order the table uses:
// its dotted name, its kind, whether it is secret, its default written as
// in the file, a one-line description for the generated file, and where the
// value lives in Config.
type configKey struct {
	name   string
	kind   keyKind
	secret bool
	def    string
	doc    string
	ref    accessor
}

// configKeys lists every setting, in the order of the generated file. To
// add one, add a line here and a field to Config. Keys of one section must
// be next to each other: the generated file nests them. Names use
// lower-case letters, digits and underscores so that each maps to one
// TROC_* variable.
var configKeys = []configKey{
	{"database", kindPath, false, "troc.db", "Path of the SQLite database that holds the run history.", func(c *Config) slot { return field(&c.Database) }},
	{"busy_timeout", kindDuration, false, "10s", "How long troc waits for another process's write to the history before it spools the run (exec) or gives up (other commands).", func(c *Config) slot { return field(&c.BusyTimeout) }},
	{"localtime", kindBool, false, "true", "Show times in local time rather than UTC.", func(c *Config) slot { return field(&c.LocalTime) }},
	{"lockdir", kindPath, false, "", "Directory of job lock files; empty: locks/ beside the database, so every troc that shares a history shares its locks.", func(c *Config) slot { return field(&c.LockDir) }},
	{"logdir", kindPath, false, "", "Directory of job logs and troc's system logs; empty: /var/log/troc for root, else $XDG_STATE_HOME/troc (~/.local/state/troc).", func(c *Config) slot { return field(&c.LogDir) }},
	{"logjson", kindBool, false, "false", "Write troc's own system log as JSON lines instead of text.", func(c *Config) slot { return field(&c.LogJSON) }},
	{"notify.hostname", kindString, false, "", "Name of this host in notifications (job@hostname); empty means the output of hostname.", func(c *Config) slot { return field(&c.Notify.Hostname) }},
	{"notify.on", kindStatuses, false, "skipped,succeeded,failed,terminated,timedout,suspect", "Statuses whose runs notify, comma-separated, or none (running: as a run starts; suspect: check --notify announces a job that becomes suspect); a job's own list wins; failed,terminated,timedout,suspect for failures only.", func(c *Config) slot { return field(&c.Notify.On) }},
	{"notify.recovery", kindBool, false, "true", "Say so when a job succeeds again after failures that were notified.", func(c *Config) slot { return field(&c.Notify.Recovery) }},
	{"notify.after_failures", kindInt, false, "1", "Notify of failures only once a job has failed this many times in a row.", func(c *Config) slot { return field(&c.Notify.AfterFailures) }},
	{"notify.repeat", kindDuration, false, "0", "While a job keeps failing, notify at most once per this long; 0 means at every failure.", func(c *Config) slot { return field(&c.Notify.Repeat) }},
	{"notify.timeout", kindDuration, false, "10s", "How long each channel may take to deliver a notification, retries included.", func(c *Config) slot { return field(&c.Notify.Timeout) }},
	{"notify.slack.token", kindString, true, "", "Token of the Slack app (xoxb-...); set it here only if this file is chmod 600.", func(c *Config) slot { return field(&c.Notify.Slack.Token) }},
	{"notify.slack.channel", kindString, false, "", "Slack channel that notifications are posted to.", func(c *Config) slot { return field(&c.Notify.Slack.Channel) }},
	{"notify.slack.webhook", kindString, true, "", "Slack incoming-webhook URL, instead of a token and channel (secret, like the token).", func(c *Config) slot { return field(&c.Notify.Slack.Webhook) }},
	{"notify.slack.api_url", kindString, false, slackAPIURL, "Base URL of the Slack Web API; change it only for a Slack-compatible server.", func(c *Config) slot { return field(&c.Notify.Slack.APIURL) }},
	{"notify.webhook.url", kindString, true, "", "URL that receives each notification as a JSON POST of the run (secret).", func(c *Config) slot { return field(&c.Notify.Webhook.URL) }},
	{"notify.webhook.headers", kindString, true, "", `Extra headers sent to notify.webhook.url, quoted: "Name: value; Name2: value2" (secret).`, func(c *Config) slot { return field(&c.Notify.Webhook.Headers) }},
	{"notify.ping.url", kindString, true, "", "Ping URL, healthchecks.io style: URL/start as a run starts, URL on success, URL/fail or URL/<exit code> on failure (secret).", func(c *Config) slot { return field(&c.Notify.Ping) }},
	{"notify.ping.every", kindBool, false, "true", "Ping notify.ping.url for every run of every job (as runitor does); false: only for runs that notify (--notify, or the job's notify setting).", func(c *Config) slot { return field(&c.Notify.PingEvery) }},
	{"notify.email.to", kindString, false, "", "Addresses that notifications are mailed to, comma-separated.", func(c *Config) slot { return field(&c.Notify.Email.To) }},
	{"notify.email.from", kindString, false, "", "Sender of notification mail; empty: sendmail's default, or troc@ this host over SMTP.", func(c *Config) slot { return field(&c.Notify.Email.From) }},
	{"notify.email.sendmail", kindPath, false, "/usr/sbin/sendmail", "Program that delivers notification mail when notify.email.smtp.host is empty.", func(c *Config) slot { return field(&c.Notify.Email.Sendmail) }},
	{"notify.email.smtp.host", kindString, false, "", "SMTP server that notification mail is sent through; empty: use notify.email.sendmail.", func(c *Config) slot { return field(&c.Notify.Email.SMTP.Host) }},
	{"notify.email.smtp.port", kindInt, false, "587", "Port of the SMTP server: 587, submission with STARTTLS (465, TLS from the start, is not supported).", func(c *Config) slot { return field(&c.Notify.Email.SMTP.Port) }},
	{"notify.email.smtp.user", kindString, false, "", "User name for SMTP authentication; empty: none.", func(c *Config) slot { return field(&c.Notify.Email.SMTP.User) }},
	{"notify.email.smtp.password", kindString, true, "", "Password for SMTP authentication.", func(c *Config) slot { return field(&c.Notify.Email.SMTP.Password) }},
	{"notify.email.smtp.starttls", kindBool, false, "true", "Require STARTTLS before authenticating and sending (false: plain text, for a server on this host).", func(c *Config) slot { return field(&c.Notify.Email.SMTP.STARTTLS) }},
	{"notify.email.smtp.ca_file", kindPath, false, "", "PEM file of CA certificates that the SMTP server's STARTTLS certificate may come from, besides the system's (SSL_CERT_FILE replaces those); empty: the system's only.", func(c *Config) slot { return field(&c.Notify.Email.SMTP.CAFile) }},
	{"notify.ca_file", kindPath, false, "", "PEM file of CA certificates trusted for the HTTPS channels (Slack, webhook, ping), besides the system's (SSL_CERT_FILE replaces those); empty: the system's only.", func(c *Config) slot { return field(&c.Notify.CAFile) }},
	{"notify.command", kindString, false, "", "Command run with /bin/sh -c for each notification, given the run as JSON on stdin and as TROC_* variables.", func(c *Config) slot { return field(&c.Notify.Command) }},
	{"notify.status.running", kindBool, false, "false", "Tag @channel in notifications of Running runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusRunning} }},
	{"notify.status.skipped", kindBool, false, "false", "Tag @channel in notifications of Skipped runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusSkipped} }},
	{"notify.status.succeeded", kindBool, false, "false", "Tag @channel in notifications of Succeeded runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusSucceeded} }},
	{"notify.status.failed", kindBool, false, "true", "Tag @channel in notifications of Failed runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusFailed} }},
	{"notify.status.terminated", kindBool, false, "true", "Tag @channel in notifications of Terminated runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusTerminated} }},
	{"notify.status.timedout", kindBool, false, "true", "Tag @channel in notifications of TimedOut runs.", func(c *Config) slot { return statusSlot[bool]{c.Notify.Status, StatusTimedOut} }},
	{"display.emoji", kindBool, false, "true", "Show statuses with emoji.", func(c *Config) slot { return field(&c.Display.Emoji) }},
	{"display.color.status.running", kindColor, false, "cyan", "Color of Running runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusRunning} }},
	{"display.color.status.skipped", kindColor, false, "yellow", "Color of Skipped runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusSkipped} }},
	{"display.color.status.succeeded", kindColor, false, "green", "Color of Succeeded runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusSucceeded} }},
	{"display.color.status.failed", kindColor, false, "red", "Color of Failed runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusFailed} }},
	{"display.color.status.terminated", kindColor, false, "magenta", "Color of Terminated runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusTerminated} }},
	{"display.color.status.timedout", kindColor, false, "red", "Color of TimedOut runs: black, red, green, yellow, blue, magenta, cyan, white, bright-<color>, default or none (true: this color, false: none).", func(c *Config) slot { return statusSlot[string]{c.Display.Color, StatusTimedOut} }},
	{"retention.max_age", kindDuration, false, "90d", "After each run, delete the job's runs (and logs) that started longer ago than this; 0 keeps them all.", func(c *Config) slot { return field(&c.Retention.MaxAge) }},
	{"retention.keep", kindInt, false, "0", "After each run, keep only the job's newest N runs (and logs); 0 keeps them all.", func(c *Config) slot { return field(&c.Retention.Keep) }},
	{"metrics.textfile", kindPath, false, "", "File that troc exec and troc check rewrite with the metrics after each run, for node_exporter's textfile collector (a path ending in .prom); empty: none.", func(c *Config) slot { return field(&c.Metrics.Textfile) }},
	{"remote.troc_path", kindString, false, "troc", "troc on the hosts that troc --host reaches: a name looked up in their PATH, or a path (a leading ~/ is their home).", func(c *Config) slot { return field(&c.Remote.TrocPath) }},
	{"remote.ssh", kindString, false, "ssh", "The ssh command troc --host runs, with any options, split into words as a shell would (no expansion).", func(c *Config) slot { return field(&c.Remote.SSH) }},
	{"remote.timeout", kindDuration, false, "30s", "How long each host may take to answer troc --host (run watch and ui excepted).", func(c *Config) slot { return field(&c.Remote.Timeout) }},
}

// valueChecks are the checks of settings whose kind alone does not say
// what they accept, by key.
var valueChecks = map[string]func(v any) error{
	"metrics.textfile": func(v any) error {
		if p := v.(string); p != "" && !strings.HasSuffix(p, ".prom") {
			return errors.New("want a file name ending in .prom, as node_exporter's textfile collector reads no other")
		}
		return nil
	},
}

// accessor returns where one setting's value lives in a Config: its
// field, or its entry in a per-status map. The value's Go type follows the
// key's kind: string for string, path and colour, bool, int,
// time.Duration, []Status. The table holds closures that capture nothing,
// so the compiler lays it out in the binary: building it at start-up, as
// closures made by a generic helper, was 0.05 ms of every troc's start
// (GODEBUG=inittrace, 163 allocations).
type accessor func(c *Config) slot

func (a accessor) get(c *Config) any    { return a(c).get() }
func (a accessor) set(c *Config, v any) { a(c).set(v) }

// slot is where a setting's value is kept.
type slot interface {
	get() any
	set(v any) // v of the type get returns
}

// fieldSlot is a setting kept in a field of Config.
type fieldSlot[T any] struct{ p *T }

// field is the slot of the field p points to.
func field[T any](p *T) slot { return fieldSlot[T]{p} }

func (f fieldSlot[T]) get() any  { return *f.p }
func (f fieldSlot[T]) set(v any) { *f.p = v.(T) }

// statusSlot is the entry for status s in a per-status setting's map.
type statusSlot[T any] struct {
	m map[Status]T
	s Status
}

func (e statusSlot[T]) get() any  { return e.m[e.s] }
func (e statusSlot[T]) set(v any) { e.m[e.s] = v.(T) }

// lookupKey returns the setting named by a dotted key, or nil.
func lookupKey(name string) *configKey {
	for i := range configKeys {
		if configKeys[i].name == name {
			return &configKeys[i]
		}
	}
	return nil
}

// isSection reports whether name is a map of settings, such as "notify" or
// "notify.slack".
func isSection(name string) bool {
	for _, k := range configKeys {
		if strings.HasPrefix(k.name, name+".") {
			return true
		}
	}
	return false
}

// envName is the variable that overrides the key: notify.slack.token is
// TROC_NOTIFY_SLACK_TOKEN. Built by hand, in one allocation: every troc
// makes the names of keys several times over (applyEnv, withoutSecrets).
func (k *configKey) envName() string {
	var b strings.Builder
	b.Grow(len("TROC_") + len(k.name))
	b.WriteString("TROC_")
	for i := 0; i < len(k.name); i++ {
		b.WriteByte(envByte(k.name[i]))
	}
	return b.String()
}

// isEnvName reports whether name is k's envName, without making it.
func (k *configKey) isEnvName(name string) bool {
	rest, ok := strings.CutPrefix(name, "TROC_")
	if !ok || len(rest) != len(k.name) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if envByte(k.name[i]) != rest[i] {
			return false
		}
	}
	return true
}

// envByte is the byte of a key's variable name for byte c of the key.
func envByte(c byte) byte {
	switch {
	case c == '.':
		return '_'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 'A'
	}
	return c
}

// keyForEnv returns the setting that the variable name overrides, or nil.
func keyForEnv(name string) *configKey {
	for i := range configKeys {
		if configKeys[i].isEnvName(name) {
			return &configKeys[i]
		}
	}
	return nil
}

// colors are the colour names colorCode knows, in the order error messages
// list them, with their ANSI SGR foreground codes. "none" means no colour
// at all; "default" is the terminal's own foreground.
var colors = []struct{ name, code string }{
	{"default", "39"}, {"none", ""},
	{"black", "30"}, {"red", "31"}, {"green", "32"}, {"yellow", "33"},
	{"blue", "34"}, {"magenta", "35"}, {"cyan", "36"}, {"white", "37"},
	{"bright-black", "90"}, {"bright-red", "91"}, {"bright-green", "92"}, {"bright-yellow", "93"},
	{"bright-blue", "94"}, {"bright-magenta", "95"}, {"bright-cyan", "96"}, {"bright-white", "97"},
}

// colorCode maps a colour name to its ANSI SGR code ("31" for red; "" for
// none). Names are case-insensitive; ok is false for an unknown one.
func colorCode(name string) (code string, ok bool) {
	name = strings.ToLower(name)
	for _, c := range colors {
		if c.name == name {
			return c.code, true
		}
	}
	return "", false
}

// defaultConfigFile returns the file createConfig writes: every setting,
// with its description, and its default commented out, nested as the file
// would nest it. Leaving the defaults commented out means a later troc
// can change a default that nobody chose.
func defaultConfigFile() []byte {
	var b strings.Builder
	b.WriteString(`# troc configuration, written by troc on first use.
#
# Every setting is listed with its default, commented out. To change one,
# remove the "#" in front of it and of the sections it is nested in.
#
# Any setting can also be set by an environment variable, which wins over
# this file: TROC_ and the key in upper case with dots as underscores, as
# in TROC_NOTIFY_SLACK_TOKEN for notify.slack.token.
#
# Paths may start with ~ and use $HOME and $TMPDIR; a relative path is
# relative to this directory, and an empty one means the default.
`)
	var sections []string // the sections written so far, outermost first
	for _, k := range configKeys {
		parts := strings.Split(k.name, ".")
		keySections, leaf := parts[:len(parts)-1], parts[len(parts)-1]
		same := 0
		for same < len(sections) && same < len(keySections) && sections[same] == keySections[same] {
			same++
		}
		if same == 0 {
			b.WriteString("\n")
		}
		for i := same; i < len(keySections); i++ {
			fmt.Fprintf(&b, "#%s%s:\n", strings.Repeat("  ", i), keySections[i])
		}
		sections = keySections
		indent := strings.Repeat("  ", len(keySections))
		if indent == "" {
			fmt.Fprintf(&b, "# %s\n", k.doc)
		} else {
			fmt.Fprintf(&b, "#%s# %s\n", indent, k.doc)
		}
		fmt.Fprintf(&b, "#%s%s: %s\n", indent, leaf, yamlScalar(k.def))
	}
	// The groups have names of the user's choosing, so there is no
	// default to list: show one, nested under the remote section that
	// configKeys ends with.
	b.WriteString(`#  # Named groups of hosts, for troc --group NAME: each a list of
#  # [user@]host[:port] separated by spaces or commas.
#  groups:
#    web: web1 web2 deploy@web3:2222
`)
	return []byte(b.String())
}
