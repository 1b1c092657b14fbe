package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var updateGolden = flag.Bool("update-config", false, "rewrite the golden files under testdata/config")

// goldenEnv is the environment that config tests run in, unless they say
// otherwise: fixed, so that expanded paths are the same on every machine.
var goldenEnv = map[string]string{"HOME": "/home/troc", "TMPDIR": "/var/tmp/troc"}

// testEnv looks variables up in vars, as os.LookupEnv does in the
// environment.
func testEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// withEnv returns goldenEnv with each of vars added in turn; an empty
// key deletes.
func withEnv(vars ...map[string]string) map[string]string {
	env := maps.Clone(goldenEnv)
	for _, v := range vars {
		maps.Copy(env, v)
	}
	return env
}

// writeConfig writes data to config.yaml in a new directory, with mode,
// and returns its path.
func writeConfig(t *testing.T, data string, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is under the umask
		t.Fatal(err)
	}
	return path
}

// valueOf renders the value of key in c, with c's directory written
// CONFIGDIR, this machine's hostname HOSTNAME and the default logdir
// DEFAULTLOGDIR, so that the result does not depend on where, or as whom,
// the test runs.
func valueOf(c *Config, key string) string {
	k := lookupKey(key)
	switch v := k.ref.get(c).(type) {
	case string:
		if host, _ := os.Hostname(); key == "notify.hostname" && v == host {
			v = "HOSTNAME"
		}
		if key == "logdir" && v == c.defaultLogDir {
			v = "DEFAULTLOGDIR" // root's differs from other users'
		}
		if k.kind == kindPath && (v == c.Dir || strings.HasPrefix(v, c.Dir+"/")) {
			v = "CONFIGDIR" + v[len(c.Dir):]
		}
		return fmt.Sprintf("%q", v)
	default:
		return fmt.Sprint(v)
	}
}

// renderConfig renders every setting of c as "key = value", sorted.
func renderConfig(c *Config) string {
	var lines []string
	for _, k := range configKeys {
		lines = append(lines, k.name+" = "+valueOf(c, k.name)+"\n")
	}
	slices.Sort(lines)
	return strings.Join(lines, "")
}

// readForGolden reads the config file at path as a golden file shows it:
// the settings, or the error with the path written CONFIG.
func readForGolden(t *testing.T, path string) string {
	t.Helper()
	c, err := readConfig(path, testEnv(goldenEnv))
	if err != nil {
		checkConfigError(t, err, "config "+path+":")
		return strings.ReplaceAll(err.Error(), path, "CONFIG") + "\n"
	}
	return renderConfig(c)
}

// checkConfigError fails the test unless err is a *configError whose
// message is one line starting with prefix.
func checkConfigError(t *testing.T, err error, prefix string) {
	t.Helper()
	var ce *configError
	if !errors.As(err, &ce) {
		t.Errorf("error %q is a %T, want a *configError", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q: want one line starting with %q", msg, prefix)
	}
}

// checkGolden compares got with the golden file, or rewrites the file with
// -update-config.
func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	checkGoldenFile(t, file, got, *updateGolden, "-update-config")
}

// TestConfigGolden reads each testdata/config/NAME.yaml and compares the
// settings or the error with NAME.golden.
func TestConfigGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata/config/*.yaml: %v", err)
	}
	for _, input := range inputs {
		name := strings.TrimSuffix(filepath.Base(input), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(input)
			if err != nil {
				t.Fatal(err)
			}
			path := writeConfig(t, string(data), 0o600)
			checkGolden(t, strings.TrimSuffix(input, ".yaml")+".golden", readForGolden(t, path))
		})
	}
}

// TestLoadConfigFirstUse creates the config in an empty or missing
// TROC_CONFIG_PATH directory, then loads it again.
func TestLoadConfigFirstUse(t *testing.T) {
	tests := []struct {
		name      string
		exists    bool // the directory exists beforehand
		wantDir   bool // an info message for the directory
		wantFiles []string
	}{
		{name: "missing directory", exists: false, wantDir: true},
		{name: "empty directory", exists: true, wantDir: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "etc", "troc")
			if tt.exists {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "config.yaml")
			env := testEnv(withEnv(map[string]string{"TROC_CONFIG_PATH": dir}))

			var info []string
			c, err := LoadConfig(env, func(msg string) { info = append(info, msg) })
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"Creating initial config file at " + path}
			if tt.wantDir {
				want = slices.Insert(want, 0, "Creating config directory at "+dir)
			}
			if !slices.Equal(info, want) {
				t.Errorf("info = %q, want %q", info, want)
			}
			if c.Path != path || c.Dir != dir {
				t.Errorf("Path, Dir = %q, %q, want %q, %q", c.Path, c.Dir, path, dir)
			}
			if got, want := c.Database, filepath.Join(dir, "troc.db"); got != want {
				t.Errorf("Database = %q, want %q", got, want)
			}
			checkMode(t, path, 0o600)
			if tt.wantDir {
				checkMode(t, dir, 0o700)
			}

			info = nil
			if _, err := LoadConfig(env, func(msg string) { info = append(info, msg) }); err != nil {
				t.Fatal(err)
			}
			if len(info) != 0 {
				t.Errorf("second load: info = %q, want none", info)
			}
			checkOnlyConfig(t, dir)
		})
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %04o, want %04o", path, got, want)
	}
}

// checkOnlyConfig fails unless config.yaml is all there is in dir: no
// temp file left behind.
func checkOnlyConfig(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"config.yaml"}) {
		t.Errorf("%s holds %q, want only config.yaml", dir, names)
	}
}

// TestLoadConfigLocation creates the config where XDG_CONFIG_HOME or HOME
// says when TROC_CONFIG_PATH is unset or empty.
func TestLoadConfigLocation(t *testing.T) {
	tests := []struct {
		name string
		env  func(tmp string) map[string]string
		want string // relative to tmp
	}{
		{
			name: "XDG_CONFIG_HOME",
			env: func(tmp string) map[string]string {
				return map[string]string{"XDG_CONFIG_HOME": tmp, "HOME": "/nonexistent"}
			},
			want: "troc/config.yaml",
		},
		{
			name: "HOME",
			env:  func(tmp string) map[string]string { return map[string]string{"HOME": tmp} },
			want: ".config/troc/config.yaml",
		},
		{
			name: "empty TROC_CONFIG_PATH and XDG_CONFIG_HOME",
			env: func(tmp string) map[string]string {
				return map[string]string{"TROC_CONFIG_PATH": "", "XDG_CONFIG_HOME": "", "HOME": tmp}
			},
			want: ".config/troc/config.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			var info []string
			c, err := LoadConfig(testEnv(tt.env(tmp)), func(msg string) { info = append(info, msg) })
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(tmp, tt.want)
			if c.Path != want {
				t.Errorf("Path = %q, want %q", c.Path, want)
			}
			wantInfo := []string{
				"Creating config directory at " + filepath.Dir(want),
				"Creating initial config file at " + want,
			}
			if !slices.Equal(info, wantInfo) {
				t.Errorf("info = %q, want %q", info, wantInfo)
			}
		})
	}
}

func TestConfigPath(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"TROC_CONFIG_PATH", map[string]string{"TROC_CONFIG_PATH": "/etc/troc", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/etc/troc/config.yaml"},
		{"relative TROC_CONFIG_PATH", map[string]string{"TROC_CONFIG_PATH": "conf/"}, filepath.Join(cwd, "conf/config.yaml")},
		{"XDG_CONFIG_HOME", map[string]string{"TROC_CONFIG_PATH": "", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/troc/config.yaml"},
		{"relative XDG_CONFIG_HOME is ignored", map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"}, "/home/u/.config/troc/config.yaml"},
		{"HOME", map[string]string{"HOME": "/home/u"}, "/home/u/.config/troc/config.yaml"},
		{"HOME is cleaned", map[string]string{"HOME": "/home/u/"}, "/home/u/.config/troc/config.yaml"},
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		tests = append(tests, struct {
			name string
			env  map[string]string
			want string
		}{"no HOME: the user's home", map[string]string{"HOME": ""}, filepath.Join(u.HomeDir, ".config/troc/config.yaml")})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configPath(testEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("configPath = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadConfigConcurrent starts many troc processes' worth of LoadConfig
// on a fresh host at once: all succeed, one creates the file, and none
// reads a half-written one.
func TestLoadConfigConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "troc")
	env := testEnv(withEnv(map[string]string{"TROC_CONFIG_PATH": dir}))
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		info    []string
		results = make([]string, n)
		errs    = make([]error, n)
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			c, err := LoadConfig(env, func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				info = append(info, msg)
			})
			errs[i] = err
			if err == nil {
				results[i] = renderConfig(c)
			}
		})
	}
	close(start)
	wg.Wait()

	want := readForGolden(t, writeConfig(t, "", 0o600))
	for i := range n {
		if errs[i] != nil {
			t.Errorf("LoadConfig %d: %v", i, errs[i])
		} else if results[i] != want {
			t.Errorf("LoadConfig %d read\n%s\nwant the defaults\n%s", i, results[i], want)
		}
	}
	slices.Sort(info)
	wantInfo := []string{
		"Creating config directory at " + dir,
		"Creating initial config file at " + filepath.Join(dir, "config.yaml"),
	}
	if !slices.Equal(info, wantInfo) {
		t.Errorf("info = %q, want each message once: %q", info, wantInfo)
	}
	checkOnlyConfig(t, dir)
}

func TestExpandPath(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		path    string
		want    string
		wantErr string
	}{
		{name: "absolute", path: "/srv//troc/./db/", want: "/srv/troc/db"},
		{name: "relative", path: "logs", want: "/etc/troc/logs"},
		{name: "relative up", path: "../../var/troc", want: "/var/troc"},
		{name: "tilde", path: "~", want: "/home/troc"},
		{name: "tilde slash", path: "~/troc/db", want: "/home/troc/troc/db"},
		{name: "tilde in the middle", path: "/a/~/b", want: "/a/~/b"},
		{name: "tilde user", path: "~bob/db", wantErr: "~user does not expand (only ~ and ~/ do)"},
		{name: "HOME", path: "$HOME/db", want: "/home/troc/db"},
		{name: "braced HOME", path: "${HOME}db", want: "/home/trocdb"},
		{name: "TMPDIR", path: "$TMPDIR/locks", want: "/var/tmp/troc/locks"},
		{name: "braced TMPDIR", path: "${TMPDIR}", want: "/var/tmp/troc"},
		{name: "TMPDIR unset", env: map[string]string{"HOME": "/h"}, path: "$TMPDIR/locks", want: "/tmp/locks"},
		{name: "TMPDIR empty", env: map[string]string{"TMPDIR": ""}, path: "${TMPDIR}/locks", want: "/tmp/locks"},
		{name: "HOME with a dollar", env: map[string]string{"HOME": "/h/$FOO"}, path: "~/x", want: "/h/$FOO/x"},
		{name: "unknown variable", path: "$FOO/x", wantErr: "unknown variable $FOO (only $HOME and $TMPDIR expand)"},
		{name: "longer name", path: "$HOMEDIR", wantErr: "unknown variable $HOMEDIR (only $HOME and $TMPDIR expand)"},
		{name: "unknown braced variable", path: "${PWD}/x", wantErr: "unknown variable $PWD (only $HOME and $TMPDIR expand)"},
		{name: "unterminated brace", path: "${HOME/x", wantErr: `unterminated "${" (only $HOME and $TMPDIR expand)`},
		{name: "lone dollar", path: "/srv/$", wantErr: `"$" without a variable name (only $HOME and $TMPDIR expand)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goldenEnv
			if tt.env != nil {
				env = tt.env
			}
			l := &loader{dir: "/etc/troc", env: testEnv(env)}
			got, err := l.expandPath(tt.path)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("expandPath(%q) = %q, %v, want error %q", tt.path, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expandPath(%q) = %q, %v, want %q", tt.path, got, err, tt.want)
			}
		})
	}
}

// TestConfigSecret leaves a secret unused, and says so, in a file that
// others can read, and only then; one from the environment is used.
func TestConfigSecret(t *testing.T) {
	const token = "xoxb-TOPSECRET-42"
	withToken := "notify:\n  slack:\n    token: " + token + "\n    channel: '#ops'\n"
	tests := []struct {
		name       string
		file       string
		mode       fs.FileMode
		env        map[string]string
		wantToken  string
		wantUnused []string
	}{
		{name: "world-readable file with token", file: withToken, mode: 0o644, wantUnused: []string{"notify.slack.token"}},
		{name: "group-readable file with token", file: withToken, mode: 0o640, wantUnused: []string{"notify.slack.token"}},
		{name: "private file with token", file: withToken, mode: 0o600, wantToken: token},
		{name: "world-readable file, token from env", file: "localtime: true\n", mode: 0o644, env: map[string]string{"TROC_NOTIFY_SLACK_TOKEN": token}, wantToken: token},
		{name: "world-readable file with token, token from env", file: withToken, mode: 0o644, env: map[string]string{"TROC_NOTIFY_SLACK_TOKEN": "xoxb-env"}, wantToken: "xoxb-env"},
		{name: "world-readable file, empty token", file: "notify:\n  slack:\n    token: ''\n", mode: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file, tt.mode)
			var said []string
			dir := filepath.Dir(path)
			c, err := LoadConfig(testEnv(withEnv(tt.env, map[string]string{"TROC_CONFIG_PATH": dir})), func(msg string) { said = append(said, msg) })
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Notify.Slack.Token; got != tt.wantToken {
				t.Errorf("Token = %q, want %q", got, tt.wantToken)
			}
			if !slices.Equal(c.UnusedSecrets, tt.wantUnused) {
				t.Errorf("UnusedSecrets = %q, want %q", c.UnusedSecrets, tt.wantUnused)
			}
			want := fmt.Sprintf("Config %s is readable by others: notify.slack.token not used; chmod 600 %s", path, path)
			if tt.wantUnused == nil {
				want = ""
			}
			if got := strings.Join(said, "\n"); got != want {
				t.Errorf("said %q, want %q", got, want)
			}
			if strings.Contains(strings.Join(said, "\n"), token) {
				t.Errorf("%q shows the token", said)
			}
		})
	}
}

// TestConfigSharedDirs: a lockdir or logdir that everyone may write to
// (the original troc wrote its /tmp into its config) is taken as unset;
// any other is used as given.
func TestConfigSharedDirs(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	private := filepath.Join(t.TempDir(), "private")
	for dir, mode := range map[string]fs.FileMode{shared: fs.ModeSticky | 0o777, private: 0o755} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"shared in the file", "lockdir: " + shared + "\nlogdir: " + shared + "\n", nil, ""}, // "": the defaults
		{"shared in the environment", "", map[string]string{"TROC_LOCKDIR": shared, "TROC_LOGDIR": shared}, ""},
		{"private", "lockdir: " + private + "\nlogdir: " + private + "\n", nil, private},
		{"not there yet", "lockdir: " + private + "/sub\nlogdir: " + private + "/sub\n", nil, private + "/sub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := readConfig(writeConfig(t, tt.file, 0o600), testEnv(withEnv(tt.env)))
			if err != nil {
				t.Fatal(err)
			}
			wantLock, wantLog := tt.want, tt.want
			if tt.want == "" {
				wantLock, wantLog = c.defaultLockDir, c.defaultLogDir
			}
			if c.LockDir != wantLock || c.LogDir != wantLog {
				t.Errorf("lockdir %s, logdir %s, want %s, %s", c.LockDir, c.LogDir, wantLock, wantLog)
			}
		})
	}
}

// TestConfigSecretNotInErrors puts a secret where the file is wrong and
// checks the error does not repeat it.
func TestConfigSecretNotInErrors(t *testing.T) {
	const secret = "xoxb-TOPSECRET-42"
	tests := []struct{ name, file string }{
		{"unterminated quote", `token: "` + secret},
		{"text after quote", `token: "` + secret + `" more`},
		{"bad escape", `token: "` + secret + `\q"`},
		{"colon in value", "token: " + secret + ": x"},
		{"line without key", secret},
		{"line that looks like a key", secret + ":x"},
		{"flow list", "token: [" + secret + "]"},
		{"block scalar", "token: |\n      " + secret},
		{"duplicate", "token: " + secret + "\n    token: " + secret},
		{"map", "token:\n      value: " + secret},
		{"bad indent", "token: a\n      " + secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "notify:\n  slack:\n    channel: ops\n    "+tt.file+"\n", 0o600)
			_, err := readConfig(path, testEnv(goldenEnv))
			if err == nil {
				t.Fatal("readConfig succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// renderSettings writes settings back as YAML, every value double-quoted.
func renderSettings(settings []setting) string {
	var b strings.Builder
	for _, s := range settings {
		indent := strings.Repeat("  ", strings.Count(s.key, "."))
		leaf := s.key[strings.LastIndex(s.key, ".")+1:]
		if s.isMap {
			fmt.Fprintf(&b, "%s%s:\n", indent, leaf)
		} else {
			fmt.Fprintf(&b, "%s%s: %s\n", indent, leaf, yamlQuote(s.value))
		}
	}
	return b.String()
}

func stripLines(settings []setting) []setting {
	out := slices.Clone(settings)
	for i := range out {
		out[i].line = 0
	}
	return out
}

// TestConfigValuesRefused: values that parse but mean nothing are refused
// before the job runs, exit 78, naming the key (or the variable), from
// the file and from the environment alike.
func TestConfigValuesRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string   // the config file; "" leaves the default
		env  []string // TROC_* variables
		want string   // the error, after "troc: "
	}{
		{name: "negative keep", file: "retention:\n  keep: -1\n", want: `:2: "retention.keep": want 0 or more, got -1`},
		{name: "negative after_failures", env: []string{"TROC_NOTIFY_AFTER_FAILURES=-2"}, want: "TROC_NOTIFY_AFTER_FAILURES: want 0 or more, got -2"},
		{name: "newline in a path", file: "logdir: \"/tmp/a\\nb\"\n", want: `:1: "logdir": a path cannot hold a line break or NUL`},
		{name: "NUL in a path", file: "database: \"/tmp/a\\u0000b\"\n", want: `:1: "database": a path cannot hold a line break or NUL`},
		{name: "textfile not .prom", file: "metrics:\n  textfile: /tmp/troc.txt\n", want: `:2: "metrics.textfile": want a file name ending in .prom`},
		{name: "invalid UTF-8 in the file", file: "notify:\n  hostname: \"web\xff1\"\n", want: `:2: "notify.hostname": invalid UTF-8`},
		{name: "invalid UTF-8 in a variable", env: []string{"TROC_NOTIFY_EMAIL_FROM=troc@\xffweb1"}, want: "TROC_NOTIFY_EMAIL_FROM: invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			if tc.file != "" {
				os.MkdirAll(s.configDir(), 0o700)
				if err := os.WriteFile(filepath.Join(s.configDir(), "config.yaml"), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s.env = append(s.env, tc.env...)
			marker := filepath.Join(s.dir, "ran")
			r := s.troc("exec", "--name", "job", "touch "+marker)
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != exitConfig || !strings.HasPrefix(first, "troc: ") || !strings.Contains(first, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %d and %q", r.code, r.stderr, exitConfig, tc.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the job ran")
			}
		})
	}
}

// TestUserWithoutHome: a job of nobody, whose home /nonexistent does not
// exist, is refused (78) with a hint to set TROC_CONFIG_PATH, and runs
// once it is set.
func TestUserWithoutHome(t *testing.T) {
	nobody := asUser(t, "nobody")
	r := nobody.troc(nil, "exec", "--name", "nightly", "true")
	want := "troc: config: mkdir /nonexistent: permission denied\n" +
		"troc: hint: set TROC_CONFIG_PATH to a directory of this user's, in the crontab or the environment (TROC_CONFIG_PATH=/var/lib/troc)\n"
	if r.code != exitConfig || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant %d and:\n%s", r.code, r.stdout, r.stderr, exitConfig, want)
	}
	dir := sharedDir(t)
	r = nobody.troc([]string{"TROC_CONFIG_PATH=" + filepath.Join(dir, "troc"), "TMPDIR=" + dir}, "exec", "-q", "--name", "nightly", "true")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("with TROC_CONFIG_PATH: exit %d, stdout %q, stderr:\n%s\nwant 0 and nothing", r.code, r.stdout, r.stderr)
	}
}
