package main

// The configuration lives in one YAML file, config.yaml, created with every
// setting documented on first use. The rules, and why:
//
//   - Settings come from three places, later ones winning: the defaults in
//     configKeys, the file, and TROC_* environment variables. All three are
//     text converted by the same function per kind, so a value means the same
//     thing wherever it is written.
//   - The file is a small, strict subset of YAML (yaml.go), and only true
//     and false are booleans, so "no" stays "no".
//   - Unknown keys are errors, because a typo in a setting that silently
//     does nothing is worse than a failed cron job that says why. An
//     unknown TROC_* variable only gets a warning naming the closest
//     setting: that namespace is shared (troc itself sets TROC_JOB and
//     others for notify.command).
//   - Values are checked for what they mean, not only their syntax: no
//     negative count, no line break or NUL in a path, no invalid UTF-8,
//     a metrics.textfile that node_exporter would read. A bad one is an
//     error naming its key, before any job runs.
//   - The file is created atomically (temp file, then link), because a fresh
//     host may start a hundred troc processes at the same second and none may
//     read a half-written file or overwrite another's.
//   - A secret in a file that other users can read is not used (the
//     channel that needs it says why, and every command says so on
//     stderr), and no secret value ever appears in an error. Refusing the
//     whole file would stop every cron job for a notification setting:
//     the original troc wrote its config mode 0644 and told users to put
//     the Slack token in it.
//   - The original troc's file works as it is. It wrote out every key with
//     its default: booleans as colours (true: the state's own colour,
//     false: none), and its TMPDIR as lockdir and logdir. A lockdir or
//     logdir that every user may write to (mode o+w, as /tmp) is taken as
//     unset: troc's default is used. That value was the original's
//     default, not a choice, and a shared directory is no place for them.
//     troc never rewrites the user's file.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config is troc's configuration, after defaults, the file and the
// environment have been applied and checked. Paths in it are absolute and
// clean.
type Config struct {
	Path        string        // the config file that was read (absolute)
	Dir         string        // its directory
	Database    string        // path of the SQLite history
	BusyTimeout time.Duration // how long a write waits for another process's
	LocalTime   bool          // show times in local time rather than UTC
	LockDir     string        // directory of job lock files (see lockDir)
	LogDir      string        // directory of job log files (see logDir)
	LogJSON     bool          // write troc's own system log as JSON lines instead of text
	Notify      NotifyConfig
	Display     DisplayConfig
	Retention   RetentionConfig
	Metrics     MetricsConfig
	Remote      RemoteConfig

	// The directories troc falls back to when LockDir or LogDir cannot
	// be trusted (dirs.go); LockDir and LogDir are these when unset.
	defaultLockDir, defaultLogDir string

	// UnusedSecrets are the secret keys set in the file that troc does
	// not use, because other users can read the file.
	UnusedSecrets []string
}

// unusedSecretReason says why a secret of the file is not used.
func (c *Config) unusedSecretReason() string {
	return filepath.Base(c.Path) + " is readable by others; chmod 600 it"
}

// NotifyConfig says where and how run notifications are sent. Each
// channel is used when its main key is set (the Slack token or webhook,
// a URL, an address, a command); newRunNotifier, in notify.go, checks
// that it has everything else it needs.
type NotifyConfig struct {
	Hostname      string          // names this host in notifications: job@hostname
	On            []Status        // statuses whose runs notify, unless the job has its own list
	Recovery      bool            // say when a job succeeds after failures that were notified
	AfterFailures int             // notify of failures only from this many in a row
	Repeat        time.Duration   // while a job keeps failing, notify at most this often; 0: every failure
	Timeout       time.Duration   // how long one channel may take over one notification, retries included
	Slack         SlackConfig     // empty token and webhook: no Slack notifications
	Webhook       WebhookConfig   // empty URL: no webhook
	Ping          string          // healthchecks.io-style ping URL; empty: no pings
	PingEvery     bool            // the ping URL hears every run of every job, not only notified ones
	Email         EmailConfig     // empty To: no mail
	Command       string          // run for each notification; empty: none
	Status        map[Status]bool // whether a notification of that status tags @channel
	CAFile        string          // PEM CA certificates trusted besides the system's for the HTTPS channels; empty: none
}

// SlackConfig is the Slack app, or incoming webhook, used for notifications.
type SlackConfig struct {
	Token, Channel string // Web API token and channel, for chat.postMessage
	Webhook        string // incoming-webhook URL, instead of a token
	APIURL         string // base URL of the Web API
}

// WebhookConfig is a URL that receives each notification as JSON.
type WebhookConfig struct {
	URL     string
	Headers string // extra request headers: "Name: value; Name2: value2"
}

// EmailConfig says where notification mail goes and how it leaves: by
// SMTP when SMTP.Host is set, else through the sendmail program.
type EmailConfig struct {
	To, From string
	Sendmail string
	SMTP     SMTPConfig
}

// SMTPConfig is the mail server that notifications are sent through.
type SMTPConfig struct {
	Host           string
	Port           int
	User, Password string // empty User: no authentication
	STARTTLS       bool   // require STARTTLS before authenticating and sending
	CAFile         string // PEM CA certificates trusted besides the system's for STARTTLS; empty: none
}

// RetentionConfig limits how much history each job keeps: troc exec
// deletes a job's runs (and their logs) past either limit after each run.
type RetentionConfig struct {
	MaxAge time.Duration // delete runs that started longer ago; 0: no limit
	Keep   int           // keep the newest Keep runs of each job; 0: no limit
}

// MetricsConfig is where troc writes its Prometheus metrics.
type MetricsConfig struct {
	Textfile string // rewritten after each run, for node_exporter; empty: none
}

// location is where times are shown: local time or UTC.
func (c *Config) location() *time.Location {
	if c.LocalTime {
		return time.Local
	}
	return time.UTC
}

// RemoteConfig is how troc --host reaches other hosts' troc through ssh.
type RemoteConfig struct {
	TrocPath string                  // troc on the remote hosts: a name in their PATH, or a path
	SSH      string                  // the ssh command, split into words like a shell (no expansion)
	Timeout  time.Duration           // how long one host may take to answer
	Groups   map[string][]remoteHost // named groups of hosts, for --group; from the file only
}

// remoteGroups is the section whose keys are group names of the user's
// choosing rather than settings of troc's. Groups come from the file only:
// TROC_* variables name fixed settings.
const remoteGroups = "remote.groups"

// addGroup adds the group of hosts that setting s of the file defines:
// host specifications separated by spaces or commas.
func (r *RemoteConfig) addGroup(name string, s setting) error {
	if s.isMap || strings.Contains(name, ".") {
		return errors.New("a group is a list of hosts, not a map")
	}
	var hosts []remoteHost
	for _, spec := range strings.FieldsFunc(s.value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		h, err := parseHostSpec(spec)
		if err != nil {
			return err
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return errors.New("a group needs at least one host")
	}
	if r.Groups == nil {
		r.Groups = map[string][]remoteHost{}
	}
	r.Groups[name] = hosts
	return nil
}

// DisplayConfig is how troc shows runs in a terminal.
type DisplayConfig struct {
	Emoji bool              // use emoji for statuses
	Color map[Status]string // colour name of each status, as accepted by colorCode
}

// LoadConfig finds the config file, creates it on first use, reads it,
// applies TROC_* environment overrides and validates everything. env looks
// up an environment variable (os.LookupEnv in production); info, if not
// nil, is called with a message for each directory or file it creates.
// Every error it returns is a *configError, possibly wrapped with a hint.
//
// A TROC_* variable that names no setting, and a secret of the file that
// troc does not use because others can read the file (see unusedSecrets),
// are reported through info, as loadConfig's warn.
func LoadConfig(env func(string) (string, bool), info func(msg string)) (*Config, error) {
	return loadConfig(env, info, info)
}

// loadConfig is LoadConfig, reporting each TROC_* variable that names no
// setting through warn.
func loadConfig(env func(string) (string, bool), info, warn func(msg string)) (*Config, error) {
	if info == nil {
		info = func(string) {}
	}
	if warn == nil {
		warn = func(string) {}
	}
	path, err := configPath(env)
	if err != nil {
		return nil, err
	}
	if err := createConfig(path, info); err != nil {
		return nil, err
	}
	c, err := readConfig(path, env)
	if err != nil {
		return nil, err
	}
	if len(c.UnusedSecrets) > 0 {
		warn(fmt.Sprintf("Config %s is readable by others: %s not used; chmod 600 %s",
			path, strings.Join(c.UnusedSecrets, ", "), path))
	}
	for _, msg := range unknownEnv(os.Environ(), env) {
		warn(msg)
	}
	return c, nil
}

// trocVariables are the TROC_* variables that are not settings: troc's
// own, and those it gives notify.command (which may run troc).
func trocVariables() map[string]bool {
	names := map[string]bool{"TROC_CONFIG_PATH": true, "TROC_TEST_MAIN": true}
	for _, kv := range (&notice{loc: time.UTC}).environ() {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	return names
}

// unknownEnv returns a warning for each TROC_* variable of environ (that
// env, too, reports as set) that names no setting, with the setting its
// name is closest to. environ comes from the process: env can look a
// variable up but not list them.
func unknownEnv(environ []string, env func(string) (string, bool)) []string {
	var trocs map[string]bool // troc's own variables, once a TROC_ one is seen
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TROC_") {
			continue
		}
		if trocs == nil {
			trocs = trocVariables()
		}
		if trocs[name] || keyForEnv(name) != nil {
			continue
		}
		if _, ok := env(name); !ok {
			continue
		}
		best, bestDist := "", -1
		for _, k := range configKeys {
			if d := editDistance(name, k.envName()); bestDist < 0 || d < bestDist {
				best, bestDist = k.name, d
			}
		}
		k := lookupKey(best)
		out = append(out, fmt.Sprintf("%s names no setting and is ignored; did you mean %s (%s)?", name, k.envName(), k.name))
	}
	return out
}

// editDistance is the Levenshtein distance between a and b: how many
// characters to insert, delete or replace to turn one into the other.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// configErrorf returns a *configError with a formatted message, so that
// troc exits 78 for it.
func configErrorf(format string, args ...any) error {
	return &configError{err: fmt.Errorf(format, args...)}
}

// configPath returns the absolute path of the config file:
// $TROC_CONFIG_PATH/config.yaml, $XDG_CONFIG_HOME/troc/config.yaml or
// ~/.config/troc/config.yaml, the first whose variable is set. A relative
// XDG_CONFIG_HOME is ignored, as the XDG base directory spec asks.
func configPath(env func(string) (string, bool)) (string, error) {
	var dir string
	if d := lookupEnv(env, "TROC_CONFIG_PATH"); d != "" {
		dir = d
	} else if d := lookupEnv(env, "XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		dir = filepath.Join(d, "troc")
	} else {
		home, err := homeDir(env)
		if err != nil {
			return "", configErrorf("config: cannot find the config file: %v (set TROC_CONFIG_PATH)", err)
		}
		dir = filepath.Join(home, ".config", "troc")
	}
	path, err := filepath.Abs(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return "", configErrorf("config: %w", err)
	}
	return path, nil
}

// lookupEnv returns the variable's value, or "" when it is unset.
func lookupEnv(env func(string) (string, bool), name string) string {
	v, _ := env(name)
	return v
}

// homeDir is $HOME, or the user's home directory from the user database
// when HOME is unset or empty, as it can be under cron or systemd.
func homeDir(env func(string) (string, bool)) (string, error) {
	if home := lookupEnv(env, "HOME"); home != "" {
		return home, nil
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir, nil
	}
	return "", errors.New("$HOME is not set and the user has no home directory")
}

// createConfig creates the config file's directory (0700) and the file
// itself (0600, holding defaultConfigFile) unless they exist, calling info
// for each one it creates. Processes racing to create the file all succeed
// and all read the same complete file: each writes a temp file and links it
// to the final name, and link, unlike rename, fails rather than replace a
// file another process linked first.
func createConfig(path string, info func(msg string)) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return configErrorf("config: %w", err)
	}
	dir := filepath.Dir(path)
	// A user without a home of its own (nobody, in /etc/cron.d) has
	// nowhere to keep a config: say where to give it one.
	noDir := func(err error) error {
		return withHint(configErrorf("config: %w", err),
			"set TROC_CONFIG_PATH to a directory of this user's, in the crontab or the environment (TROC_CONFIG_PATH=/var/lib/troc)")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return noDir(err)
	}
	switch err := os.Mkdir(dir, 0o700); {
	case err == nil:
		info("Creating config directory at " + dir)
	case !errors.Is(err, fs.ErrExist):
		return noDir(err)
	}

	tmp, err := os.CreateTemp(dir, ".config.yaml.tmp*") // mode 0600
	if err != nil {
		return configErrorf("config: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(defaultConfigFile())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return configErrorf("config: write %s: %w", tmp.Name(), err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		info("Creating initial config file at " + path)
	case !errors.Is(err, fs.ErrExist): // EEXIST: another process won the race
		return configErrorf("config: %w", err)
	}
	return nil
}

// readConfig reads the config file at path and returns the configuration
// it describes once env's TROC_* variables are applied on top.
func readConfig(path string, env func(string) (string, bool)) (*Config, error) {
	data, mode, err := readFile(path)
	if err != nil {
		return nil, configErrorf("config: %w", err)
	}
	settings, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	c, l, err := newConfig(path, env)
	if err != nil {
		return nil, err
	}
	if err := l.applyFile(c, settings); err != nil {
		return nil, err
	}
	c.UnusedSecrets = unusedSecrets(mode, settings)
	for _, name := range c.UnusedSecrets {
		l.set(c, lookupKey(name), "") // valid: a secret is a string
	}
	if err := l.applyEnv(c); err != nil {
		return nil, err
	}
	// A secret given in the environment is used, whatever the file says.
	c.UnusedSecrets = slices.DeleteFunc(c.UnusedSecrets, func(name string) bool {
		_, set := env(lookupKey(name).envName())
		return set
	})
	for _, k := range []string{"lockdir", "logdir"} {
		if err := l.unlessShared(c, lookupKey(k)); err != nil {
			return nil, err
		}
	}
	c.defaultLockDir = filepath.Join(filepath.Dir(c.Database), "locks")
	if c.defaultLogDir, err = defaultLogDir(env); err != nil {
		return nil, configErrorf("config: logdir: %v (set logdir or TROC_LOGDIR)", err)
	}
	c.LockDir = cmp.Or(c.LockDir, c.defaultLockDir)
	c.LogDir = cmp.Or(c.LogDir, c.defaultLogDir)
	if c.Notify.Hostname == "" {
		if c.Notify.Hostname, err = os.Hostname(); err != nil {
			c.Notify.Hostname = "localhost"
		}
	}
	return c, nil
}

// readFile returns a file's contents and the mode it had when opened.
func readFile(path string) ([]byte, fs.FileMode, error) {
	// Opened without waiting, so that a FIFO cannot hold troc (and the job's
	// lock) for good, then refused unless it is a regular file. A symlink
	// to the config is the user's own choice and is followed.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: %w (%s)", path, errNotAFile, fileKind(st.Mode()))
	}
	// Room for the whole file at once (io.ReadAll would start at 512
	// bytes and grow); ReadFrom still takes more if it grew meanwhile.
	buf := bytes.NewBuffer(make([]byte, 0, st.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), st.Mode(), nil
}

// unusedSecrets returns the secret keys that the file sets while group
// or others have any access to it, mode being its mode: their values are
// not to be used.
func unusedSecrets(mode fs.FileMode, settings []setting) []string {
	if mode.Perm()&0o077 == 0 {
		return nil
	}
	var out []string
	for _, s := range settings {
		if k := lookupKey(s.key); k != nil && k.secret && !s.isMap && s.value != "" {
			out = append(out, k.name)
		}
	}
	return out
}

// unlessShared sets directory setting k back to its default when it names
// a directory that every user may write to (see the rules at the top).
// Whatever the default is, it applies.
func (l *loader) unlessShared(c *Config, k *configKey) error {
	dir, _ := k.ref.get(c).(string)
	def, err := l.parse(k, k.def)
	if err != nil || dir == def {
		return err
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() && st.Mode().Perm()&0o002 != 0 {
		k.ref.set(c, def)
	}
	return nil
}

// loader converts settings' text to values. It knows the directory that
// relative paths start from and where $HOME and $TMPDIR come from.
type loader struct {
	dir string
	env func(string) (string, bool)
}

// newConfig returns the default configuration for a config file at path,
// and the loader that applies settings to it.
func newConfig(path string, env func(string) (string, bool)) (*Config, *loader, error) {
	l := &loader{dir: filepath.Dir(path), env: env}
	c := &Config{
		Path:    path,
		Dir:     l.dir,
		Notify:  NotifyConfig{Status: map[Status]bool{}},
		Display: DisplayConfig{Color: map[Status]string{}},
	}
	for i := range configKeys {
		k := &configKeys[i]
		if err := l.set(c, k, k.def); err != nil {
			return nil, nil, configErrorf("config: default of %s: %v", k.name, err)
		}
	}
	return c, l, nil
}

// applyFile applies the settings read from the config file to c.
func (l *loader) applyFile(c *Config, settings []setting) error {
	for _, s := range settings {
		k := lookupKey(s.key)
		var err error
		switch {
		case s.key == remoteGroups:
			if !s.isMap && s.value != "" {
				err = errors.New("want a map of groups (name: hosts), got a value")
			}
		case strings.HasPrefix(s.key, remoteGroups+"."):
			err = c.Remote.addGroup(strings.TrimPrefix(s.key, remoteGroups+"."), s)
		case k == nil && isSection(s.key):
			if !s.isMap && s.value != "" {
				err = errors.New("want a map of settings, got a value")
			}
		case k == nil && s.isMap:
			// Report the keys inside it instead: "notify.slak.token"
			// says more than "notify.slak".
		case k == nil:
			return configErrorf("config %s:%d: unknown key %q", c.Path, s.line, s.key)
		case s.isMap:
			err = errors.New("want a value, got a map")
		default:
			err = l.set(c, k, s.value)
		}
		if err != nil {
			return configErrorf("config %s:%d: %q: %v", c.Path, s.line, s.key, err)
		}
	}
	return nil
}

// applyEnv applies the TROC_* variables that name a setting to c.
func (l *loader) applyEnv(c *Config) error {
	for i := range configKeys {
		k := &configKeys[i]
		name := k.envName()
		text, ok := l.env(name)
		if !ok {
			continue
		}
		if err := l.set(c, k, text); err != nil {
			return configErrorf("%s: %v", name, err)
		}
	}
	return nil
}

// set converts text to k's value, checks it, and stores it in c.
func (l *loader) set(c *Config, k *configKey, text string) error {
	v, err := l.parse(k, text)
	if err == nil && valueChecks[k.name] != nil {
		err = valueChecks[k.name](v)
	}
	if err != nil {
		if k.secret {
			return errors.New("invalid value (not shown: it is secret)")
		}
		return err
	}
	k.ref.set(c, v)
	return nil
}

// parse converts text, from a default, the file or the environment, to the
// value of key k. It is the only place that knows what each kind accepts.
// An empty path means the key's default, and a path whose default is empty
// (a file troc writes only when asked to) may be left empty; empty is
// valid for a string and missing for every other kind.
func (l *loader) parse(k *configKey, text string) (any, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("invalid UTF-8")
	}
	switch k.kind {
	case kindString:
		return text, nil
	case kindPath:
		if strings.ContainsAny(text, "\n\r\x00") {
			return nil, errors.New("a path cannot hold a line break or NUL")
		}
		if text == "" {
			text = k.def
		}
		if text == "" {
			return "", nil
		}
		return l.expandPath(text)
	}
	if text == "" {
		return nil, errors.New("missing value")
	}
	switch k.kind {
	case kindBool:
		switch strings.ToLower(text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("want true or false, got %q", text)
	case kindInt:
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", text)
		}
		if n < 0 {
			// Counts and ports, all of them: none can be negative.
			return nil, fmt.Errorf("want 0 or more, got %d", n)
		}
		return n, nil
	case kindDuration:
		return parseDuration(text)
	case kindColor:
		// The original troc's booleans: its own colour, or none.
		switch strings.ToLower(text) {
		case "true":
			return k.def, nil
		case "false":
			return "none", nil
		}
		if _, ok := colorCode(text); !ok {
			names := make([]string, len(colors))
			for i, c := range colors {
				names[i] = c.name
			}
			return nil, fmt.Errorf("unknown color %q (want one of %s, or true or false)", text, strings.Join(names, ", "))
		}
		return strings.ToLower(text), nil
	case kindStatuses:
		return parseNotifyList(text)
	}
	panic(fmt.Sprintf("config key %s has unknown kind %d", k.name, k.kind))
}

// expandPath returns p as a clean absolute path. A leading ~ or ~/ and
// $HOME, ${HOME}, $TMPDIR and ${TMPDIR} anywhere expand; an unset or empty
// TMPDIR is /tmp. Other variables are errors rather than left as is, so a
// typo cannot create a directory named "$TMPDRI". A relative result is
// relative to the config file's directory, not to wherever troc was
// started: cron starts it in $HOME, people elsewhere.
func (l *loader) expandPath(p string) (string, error) {
	var b strings.Builder
	rest := p
	switch {
	case rest == "~" || strings.HasPrefix(rest, "~/"):
		home, err := homeDir(l.env)
		if err != nil {
			return "", fmt.Errorf("cannot expand ~: %v", err)
		}
		b.WriteString(home)
		rest = rest[1:]
	case strings.HasPrefix(rest, "~"):
		return "", errors.New("~user does not expand (only ~ and ~/ do)")
	}
	for {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+1:]
		var name string
		if strings.HasPrefix(rest, "{") {
			j := strings.IndexByte(rest, '}')
			if j < 0 {
				return "", errors.New(`unterminated "${" (only $HOME and $TMPDIR expand)`)
			}
			name, rest = rest[1:j], rest[j+1:]
		} else {
			j := 0
			for j < len(rest) && (rest[j] == '_' || isLetter(rest[j]) || j > 0 && isDigit(rest[j])) {
				j++
			}
			name, rest = rest[:j], rest[j:]
		}
		switch name {
		case "HOME":
			home, err := homeDir(l.env)
			if err != nil {
				return "", fmt.Errorf("cannot expand $HOME: %v", err)
			}
			b.WriteString(home)
		case "TMPDIR":
			b.WriteString(cmp.Or(lookupEnv(l.env, "TMPDIR"), "/tmp"))
		case "":
			return "", errors.New(`"$" without a variable name (only $HOME and $TMPDIR expand)`)
		default:
			return "", fmt.Errorf("unknown variable $%s (only $HOME and $TMPDIR expand)", name)
		}
	}
	out := b.String()
	if !filepath.IsAbs(out) {
		out = filepath.Join(l.dir, out)
	}
	return filepath.Clean(out), nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
