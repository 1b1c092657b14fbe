package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDefaultConfigFile holds the generated file to its golden copy, which
// TestConfigGolden also reads, and checks that it documents every key and
// reads as the defaults whether its settings are commented out or not.
func TestDefaultConfigFile(t *testing.T) {
	file := string(defaultConfigFile())
	checkGolden(t, "testdata/config/default.yaml", file)

	want := readForGolden(t, writeConfig(t, "", 0o600))
	if got := readForGolden(t, writeConfig(t, file, 0o600)); got != want {
		t.Errorf("default file reads as\n%s\nwant the defaults\n%s", got, want)
	}

	// Uncomment the settings as a user would: "#key:" and "#  key:" lose
	// their "#", descriptions ("# text") stay comments.
	lines := strings.Split(file, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "#") && len(line) > 1 && (line[1] != ' ' || strings.HasPrefix(line, "#  ")) {
			lines[i] = line[1:]
		}
	}
	uncommented := strings.Join(lines, "\n")
	path := writeConfig(t, uncommented, 0o600)
	if got := readForGolden(t, path); got != want {
		t.Errorf("uncommented default file reads as\n%s\nwant the defaults\n%s", got, want)
	}
	settings, err := parseConfig(path, []byte(uncommented))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.key == k.name }) {
			t.Errorf("default file does not list %s", k.name)
		}
	}
}

// TestConfigKeys checks the table itself: names that the file and the
// environment can spell, one line of description each.
func TestConfigKeys(t *testing.T) {
	envNames := map[string]string{}
	for _, k := range configKeys {
		for _, part := range strings.Split(k.name, ".") {
			if !validKey(part) || strings.ToLower(part) != part || strings.Contains(part, "-") {
				t.Errorf("key %q: want lower-case letters, digits and _ between dots", k.name)
			}
		}
		if k.doc == "" || strings.Contains(k.doc, "\n") {
			t.Errorf("key %q: want a one-line description, got %q", k.name, k.doc)
		}
		if want := "TROC_" + strings.ToUpper(strings.ReplaceAll(k.name, ".", "_")); k.envName() != want {
			t.Errorf("key %q: envName = %q, want %q", k.name, k.envName(), want)
		}
		if got := keyForEnv(k.envName()); got == nil || got.name != k.name || keyForEnv(k.envName()+"_X") != nil {
			t.Errorf("key %q: keyForEnv(%s) = %v, and of a longer name = %v; want the key, then nil",
				k.name, k.envName(), got, keyForEnv(k.envName()+"_X"))
		}
		if other, ok := envNames[k.envName()]; ok {
			t.Errorf("keys %q and %q are both %s", other, k.name, k.envName())
		}
		envNames[k.envName()] = k.name
	}
	if got, want := lookupKey("notify.slack.token").envName(), "TROC_NOTIFY_SLACK_TOKEN"; got != want {
		t.Errorf("envName = %q, want %q", got, want)
	}
}

// TestPerStatusKeys: each per-status setting has one key for every run
// status, which reads and sets that status's entry and no other. The
// table spells them out, so a new status needs its lines there.
func TestPerStatusKeys(t *testing.T) {
	for _, prefix := range []string{"notify.status", "display.color.status"} {
		var names []string
		for _, k := range configKeys {
			if strings.HasPrefix(k.name, prefix+".") {
				names = append(names, k.name)
			}
		}
		var want []string
		for _, s := range Statuses {
			want = append(want, prefix+"."+strings.ToLower(string(s)))
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s keys = %v, want %v", prefix, names, want)
			continue
		}
		defaults := func() *Config {
			c, _, err := newConfig("/nonexistent/config.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		for i, s := range Statuses {
			k := lookupKey(want[i])
			if !strings.Contains(k.doc, " "+string(s)+" ") {
				t.Errorf("%s: doc %q does not name %s", k.name, k.doc, s)
			}
			c := defaults()
			var v any = "bright-white"
			if b, ok := k.ref.get(c).(bool); ok {
				v = !b
			}
			k.ref.set(c, v)
			for j, other := range Statuses {
				got, def := lookupKey(want[j]).ref.get(c), lookupKey(want[j]).ref.get(defaults())
				if j == i && got != v || j != i && got != def {
					t.Errorf("after setting %s to %v, %s reads %v", k.name, v, other, got)
				}
			}
		}
	}
}

// TestConfigEnv overrides settings of every kind with TROC_* variables.
func TestConfigEnv(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    map[string]string // key: value as valueOf renders it
		wantErr string
	}{
		{
			name: "string",
			env:  map[string]string{"TROC_NOTIFY_SLACK_CHANNEL": "#ops", "TROC_NOTIFY_HOSTNAME": "web-01"},
			want: map[string]string{"notify.slack.channel": `"#ops"`, "notify.hostname": `"web-01"`},
		},
		{
			name: "empty string overrides the file",
			file: "notify:\n  slack:\n    channel: ops\n",
			env:  map[string]string{"TROC_NOTIFY_SLACK_CHANNEL": ""},
			want: map[string]string{"notify.slack.channel": `""`},
		},
		{
			name: "secret",
			env:  map[string]string{"TROC_NOTIFY_SLACK_TOKEN": "xoxb-1"},
			want: map[string]string{"notify.slack.token": `"xoxb-1"`},
		},
		{
			name: "path",
			env:  map[string]string{"TROC_LOGDIR": "~/logs", "TROC_LOCKDIR": "${TMPDIR}/locks", "TROC_DATABASE": "db/../h.db"},
			want: map[string]string{"logdir": `"/home/troc/logs"`, "lockdir": `"/var/tmp/troc/locks"`, "database": `"CONFIGDIR/h.db"`},
		},
		{
			name: "empty path means the default, not the file",
			file: "logdir: /srv/logs\ndatabase: /srv/troc.db\n",
			env:  map[string]string{"TROC_LOGDIR": "", "TROC_DATABASE": ""},
			want: map[string]string{"logdir": `"DEFAULTLOGDIR"`, "database": `"CONFIGDIR/troc.db"`},
		},
		{
			name: "bool",
			file: "localtime: true\n",
			env:  map[string]string{"TROC_LOCALTIME": "FALSE", "TROC_LOGJSON": "true", "TROC_NOTIFY_STATUS_FAILED": "false", "TROC_NOTIFY_STATUS_SUCCEEDED": "True"},
			want: map[string]string{"localtime": "false", "logjson": "true", "notify.status.failed": "false", "notify.status.succeeded": "true"},
		},
		{
			name: "color",
			env:  map[string]string{"TROC_DISPLAY_COLOR_STATUS_RUNNING": "Bright-Blue", "TROC_DISPLAY_COLOR_STATUS_FAILED": "none"},
			want: map[string]string{"display.color.status.running": `"bright-blue"`, "display.color.status.failed": `"none"`},
		},
		{
			name: "unknown variables are ignored",
			env:  map[string]string{"TROC_FOO": "x", "TROC_NOTIFY_SLAK_TOKEN": "x", "TROC_CONFIG_PATH_X": "maybe"},
			want: map[string]string{"notify.slack.token": `""`},
		},
		{
			name:    "wrong bool",
			env:     map[string]string{"TROC_LOCALTIME": "maybe"},
			wantErr: `TROC_LOCALTIME: want true or false, got "maybe"`,
		},
		{
			name:    "empty bool",
			env:     map[string]string{"TROC_NOTIFY_STATUS_FAILED": ""},
			wantErr: `TROC_NOTIFY_STATUS_FAILED: missing value`,
		},
		{
			name:    "unknown color",
			env:     map[string]string{"TROC_DISPLAY_COLOR_STATUS_RUNNING": "pink"},
			wantErr: `TROC_DISPLAY_COLOR_STATUS_RUNNING: unknown color "pink" (want one of default, none, black, red, green, yellow, blue, magenta, cyan, white, bright-black, bright-red, bright-green, bright-yellow, bright-blue, bright-magenta, bright-cyan, bright-white, or true or false)`,
		},
		{
			name:    "unknown variable in a path",
			env:     map[string]string{"TROC_LOGDIR": "$LOGS/troc"},
			wantErr: `TROC_LOGDIR: unknown variable $LOGS (only $HOME and $TMPDIR expand)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file, 0o600)
			c, err := readConfig(path, testEnv(withEnv(tt.env)))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("readConfig succeeded, want error %q", tt.wantErr)
				}
				checkConfigError(t, err, "TROC_")
				if got := err.Error(); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tt.want {
				if got := valueOf(c, key); got != want {
					t.Errorf("%s = %s, want %s", key, got, want)
				}
			}
		})
	}
}

// TestParseKinds converts text of every kind, including int and duration,
// which no key uses yet.
func TestParseKinds(t *testing.T) {
	l := &loader{dir: "/etc/troc", env: testEnv(goldenEnv)}
	tests := []struct {
		name    string
		kind    keyKind
		def     string
		text    string
		want    any
		wantErr string
	}{
		{name: "string", kind: kindString, text: " a b ", want: " a b "},
		{name: "empty string", kind: kindString, text: "", want: ""},
		{name: "path", kind: kindPath, text: "logs", want: "/etc/troc/logs"},
		{name: "empty path", kind: kindPath, def: "$TMPDIR", text: "", want: "/var/tmp/troc"},
		{name: "bool", kind: kindBool, text: "TRUE", want: true},
		{name: "bool yes", kind: kindBool, text: "yes", wantErr: `want true or false, got "yes"`},
		{name: "empty bool", kind: kindBool, text: "", wantErr: "missing value"},
		{name: "int", kind: kindInt, text: "42", want: 42},
		{name: "negative int", kind: kindInt, text: "-3", wantErr: "want 0 or more, got -3"},
		{name: "path with a line break", kind: kindPath, text: "logs\nmore", wantErr: "a path cannot hold a line break or NUL"},
		{name: "path with NUL", kind: kindPath, text: "logs\x00", wantErr: "a path cannot hold a line break or NUL"},
		{name: "invalid UTF-8", kind: kindString, text: "a\xffb", wantErr: "invalid UTF-8"},
		{name: "bad int", kind: kindInt, text: "4x", wantErr: `want an integer, got "4x"`},
		{name: "empty int", kind: kindInt, text: "", wantErr: "missing value"},
		{name: "duration", kind: kindDuration, text: "1d12h", want: 36 * time.Hour},
		{name: "bad duration", kind: kindDuration, text: "soon", wantErr: `invalid duration "soon": want numbers with units (ns, us, ms, s, m, h, d), as in 90s or 1d12h`},
		{name: "empty duration", kind: kindDuration, text: "", wantErr: "missing value"},
		{name: "color", kind: kindColor, text: "RED", want: "red"},
		{name: "empty color", kind: kindColor, text: "", wantErr: "missing value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.parse(&configKey{name: "test", kind: tt.kind, def: tt.def}, tt.text)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("parse(%q) error = %v, want %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parse(%q) = %#v, %v, want %#v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestColorCode(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantOK         bool
	}{
		{"red", "red", "31", true},
		{"upper case", "Cyan", "36", true},
		{"bright", "bright-white", "97", true},
		{"default", "default", "39", true},
		{"none", "none", "", true},
		{"unknown", "pink", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := colorCode(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("colorCode(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestUnknownTrocVariable: a TROC_ variable that names no setting is
// ignored with a warning naming the setting it is closest to.
func TestUnknownTrocVariable(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_RETENTION_KEP=3", "TROC_JOB=set by notify.command")
	r := s.troc("run", "list")
	want := `level=WARN msg="TROC_RETENTION_KEP names no setting and is ignored; did you mean TROC_RETENTION_KEEP (retention.keep)?"`
	if r.code != 0 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "names no setting") != 1 {
		t.Errorf("run list: exit %d, stderr:\n%s\nwant 0 and only %s", r.code, r.stderr, want)
	}
	if r := s.troc("exec", "--name", "job", "true"); r.code != 0 || !strings.Contains(r.stderr, "TROC_RETENTION_KEP names no setting") {
		t.Errorf("exec: exit %d, stderr:\n%s\nwant 0 and the warning", r.code, r.stderr)
	}
}
