package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/common/model"
)

func TestParseHostSpec(t *testing.T) {
	good := []struct {
		spec             string
		user, addr, port string
	}{
		{"web1", "", "web1", ""},
		{"deploy@web1", "deploy", "web1", ""},
		{"web1.example.com:2222", "", "web1.example.com", "2222"},
		{"root@10.0.0.7:22", "root", "10.0.0.7", "22"},
		{"[::1]", "", "::1", ""},
		{"ops@[fe80::1%eth0]:2200", "ops", "fe80::1%eth0", "2200"},
		{"my_alias", "", "my_alias", ""},
	}
	for _, tt := range good {
		h, err := parseHostSpec(tt.spec)
		if err != nil || h.user != tt.user || h.addr != tt.addr || h.port != tt.port || h.name != tt.spec {
			t.Errorf("parseHostSpec(%q) = %+v, %v; want %s %s %s", tt.spec, h, err, tt.user, tt.addr, tt.port)
		}
	}
	for _, spec := range []string{
		"", "-oProxyCommand=touch x", "web1:", "web1:0", "web1:65536", "web1:22x", "web1:022",
		"@web1", "-l@web1", "a b", "web1;id", "$(id)", "[::1", "[zz::1]", "[::1]x", "web1:22:33", "us er@web1",
	} {
		if h, err := parseHostSpec(spec); err == nil {
			t.Errorf("parseHostSpec(%q) = %+v, want an error", spec, h)
		} else if !strings.Contains(err.Error(), "want [user@]host[:port]") {
			t.Errorf("parseHostSpec(%q) error = %v, want it to contain %q", spec, err, "want [user@]host[:port]")
		}
	}
}

// troc --host reads --json and --limit from the command line it passes on
// as the flag package would read them there.
func TestRemoteFlagReading(t *testing.T) {
	for _, c := range []struct {
		args  []string
		json  bool
		limit int
	}{
		{nil, false, 20},
		{[]string{"--json"}, true, 20},
		{[]string{"-json", "--limit", "5"}, true, 5},
		{[]string{"--json=1", "-limit=7"}, true, 7},
		{[]string{"--json=T"}, true, 20},
		{[]string{"--json", "--json=false"}, false, 20},
		{[]string{"--json=maybe"}, false, 20},
		{[]string{"--limit", "3", "--limit=9"}, false, 9},
		{[]string{"--limit", "x"}, false, 20},
		{[]string{"--limit"}, false, 20},
		{[]string{"--name", "json", "--limited", "4"}, false, 20},
		{[]string{"--", "--json", "--limit", "2"}, false, 20},
		{[]string{"---json"}, false, 20},
	} {
		if got := userWantsJSON(c.args); got != c.json {
			t.Errorf("userWantsJSON(%q) = %v, want %v", c.args, got, c.json)
		}
		if got := intFlag(c.args, "limit", 20); got != c.limit {
			t.Errorf("intFlag(%q) = %d, want %d", c.args, got, c.limit)
		}
	}
}

func TestTakeRemoteFlags(t *testing.T) {
	targets, rest, err := takeRemoteFlags([]string{"--host", "a", "-host=b", "--hosts", "f", "--group=g", "run", "list", "--host", "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := remoteTargets{hosts: []string{"a", "b"}, files: []string{"f"}, groups: []string{"g"}}
	if !slices.Equal(targets.hosts, want.hosts) || !slices.Equal(targets.files, want.files) || !slices.Equal(targets.groups, want.groups) {
		t.Errorf("targets = %+v, want %+v", targets, want)
	}
	if !slices.Equal(rest, []string{"run", "list", "--host", "c"}) {
		t.Errorf("rest = %q, want [run list --host c]", rest)
	}
	for _, args := range [][]string{{"--host"}, {"--host="}, {"--group", ""}} {
		if _, _, err := takeRemoteFlags(args); err == nil {
			t.Errorf("takeRemoteFlags(%q) error = nil, want an error", args)
		}
	}
}

// TestRemoteLine runs the line that ssh would hand to the remote shell
// through sh, and checks that every argument arrives as it was given.
func TestRemoteLine(t *testing.T) {
	args := []string{"%s\\0", "plain", "", "two words", "it's", `"$(touch pwned)"`, "`id`", "a;b|c&d", "$HOME", "*", "line\nbreak", "-x", "~", "back\\slash"}
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", remoteLine("printf", args))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, args[1:]) {
		t.Errorf("sh read the line as %q, want %q", got, args[1:])
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the line ran a command: %v", entries)
	}
	if got, want := remoteLine("~/bin/troc dev", []string{"run"}), `~/'bin/troc dev' run`; got != want {
		t.Errorf("remoteLine = %s, want %s", got, want)
	}
}

// TestSSHCommand checks the ssh command line troc builds: the user's ssh
// and options first, then troc's, the host alone after --, and the remote
// line last.
func TestSSHCommand(t *testing.T) {
	cfg := &Config{Remote: RemoteConfig{SSH: "ssh -F '/etc/my ssh'", TrocPath: "troc", Timeout: 1500 * time.Millisecond}}
	one := &remote{cfg: cfg, hosts: mustHosts(t, "ops@web1:2222")}
	cmd, err := one.command(t.Context(), one.hosts[0], []string{"run", "list"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ssh", "-F", "/etc/my ssh", "-T", "-o", "ConnectTimeout=2", "-p", "2222", "-l", "ops", "--", "web1", "troc run list"}
	if !slices.Equal(cmd.Args, want) {
		t.Errorf("one host:\n got %q\nwant %q", cmd.Args, want)
	}
	// Several hosts: no password prompts. A terminal for ui.
	fleet := &remote{cfg: cfg, hosts: mustHosts(t, "web1", "web2")}
	cmd, _ = fleet.command(t.Context(), fleet.hosts[1], []string{"check"}, false)
	if !slices.Contains(cmd.Args, "BatchMode=yes") || slices.Contains(cmd.Args, "-p") || slices.Contains(cmd.Args, "-l") {
		t.Errorf("several hosts: ssh args = %q, want BatchMode=yes and no -p or -l", cmd.Args)
	}
	cmd, _ = one.command(t.Context(), one.hosts[0], []string{"ui"}, true)
	if !slices.Contains(cmd.Args, "-t") || slices.Contains(cmd.Args, "-T") {
		t.Errorf("ui: ssh args = %q, want -t and no -T", cmd.Args)
	}
	cfg.Remote.SSH = "ssh 'unclosed"
	if _, err := one.command(t.Context(), one.hosts[0], []string{"check"}, false); err == nil || !strings.Contains(err.Error(), "remote.ssh") {
		t.Errorf("bad remote.ssh: error = %v, want it to mention remote.ssh", err)
	}
}

func TestResolveHosts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hosts")
	writeFile(t, file, "# the web tier\nweb1\n  web2   # the new one\n\nweb1\n")
	cfg := &Config{Path: "/etc/troc.yaml", Remote: RemoteConfig{Groups: map[string][]remoteHost{"db": mustHosts(t, "db1", "ops@db2:2222")}}}
	hosts, err := resolveHosts(cfg, remoteTargets{hosts: []string{"web2", "x"}, files: []string{file}, groups: []string{"db"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hosts {
		names = append(names, h.name)
	}
	if want := []string{"web2", "x", "web1", "db1", "ops@db2:2222"}; !slices.Equal(names, want) {
		t.Errorf("hosts = %q, want %q", names, want)
	}

	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, "web1\nweb2 web3\n")
	worse := filepath.Join(dir, "worse")
	writeFile(t, worse, "web1\n-oProxyCommand=x\n")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "# nothing yet\n")
	for _, tt := range []struct {
		targets remoteTargets
		want    string
	}{
		{remoteTargets{files: []string{bad}}, bad + ":2: one host per line, got 2"},
		{remoteTargets{files: []string{worse}}, worse + `:2: invalid host "-oProxyCommand=x"`},
		{remoteTargets{files: []string{filepath.Join(dir, "missing")}}, "--hosts: open " + dir},
		{remoteTargets{files: []string{empty}}, "no hosts given"},
		{remoteTargets{groups: []string{"web"}}, "--group web: no such group in remote.groups of /etc/troc.yaml (it has db)"},
		{remoteTargets{hosts: []string{"a b"}}, `invalid host "a b"`},
	} {
		_, err := resolveHosts(cfg, tt.targets)
		var usage *usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &usage) {
			t.Errorf("resolveHosts(%+v) = %v, want a usage error with %q", tt.targets, err, tt.want)
		}
	}
}

func mustHosts(t *testing.T, specs ...string) []remoteHost {
	t.Helper()
	hosts := make([]remoteHost, len(specs))
	for i, spec := range specs {
		var err error
		if hosts[i], err = parseHostSpec(spec); err != nil {
			t.Fatal(err)
		}
	}
	return hosts
}

func TestConfigGroups(t *testing.T) {
	path := writeConfig(t, "remote:\n  groups:\n    web: web1 web2, deploy@web3:2222\n    db: db1\n", 0o600)
	cfg, err := readConfig(path, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Remote.Groups["web"]; !slices.Equal(got, mustHosts(t, "web1", "web2", "deploy@web3:2222")) {
		t.Errorf("web = %q, want [web1 web2 deploy@web3:2222]", got)
	}
	if got := cfg.Remote.Groups["db"]; !slices.Equal(got, mustHosts(t, "db1")) {
		t.Errorf("db = %q, want [db1]", got)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"remote:\n  groups:\n    web: web1 -oProxyCommand=x\n", `:3: "remote.groups.web": invalid host "-oProxyCommand=x"`},
		{"remote:\n  groups:\n    web:\n      a: b\n", `:3: "remote.groups.web": a group is a list of hosts, not a map`},
		{"remote:\n  groups:\n    web: \"\"\n", `:3: "remote.groups.web": a group needs at least one host`},
		{"remote:\n  groups: web1\n", `:2: "remote.groups": want a map of groups`},
	} {
		_, err := readConfig(writeConfig(t, tt.yaml, 0o600), testEnv(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %q: %v, want %s", tt.yaml, err, tt.want)
		}
	}
}

// TestMetricsMerge merges two hosts' metrics and parses the result with
// Prometheus' own parser: each family once, every sample with its host.
func TestMetricsMerge(t *testing.T) {
	one := "# HELP troc_up Whether it is up.\n# TYPE troc_up gauge\ntroc_up 1\n# HELP troc_runs_total Runs.\n# TYPE troc_runs_total counter\ntroc_runs_total{job=\"a\",status=\"Failed\"} 2\n"
	two := "# HELP troc_up Whether it is up.\n# TYPE troc_up gauge\ntroc_up 0\n# HELP troc_runs_total Runs.\n# TYPE troc_runs_total counter\ntroc_runs_total{job=\"a\",status=\"Failed\"} 5\n"
	var m metricsMerger
	m.add("web1", []byte(one))
	m.add(`we"b2`, []byte(two))
	families := parseMetrics(t, string(m.bytes()))
	if len(families) != 2 {
		t.Fatalf("families = %d, want 2\n%s", len(families), m.bytes())
	}
	got := map[string]float64{}
	samples := 0
	for _, f := range families {
		for _, metric := range f.Metric {
			samples++
			labels := model.LabelSet{}
			for _, l := range metric.Label {
				labels[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
			}
			v := metric.GetGauge().GetValue() + metric.GetCounter().GetValue()
			got[f.GetName()+labels.String()] = v
		}
	}
	want := map[string]float64{
		`troc_up{host="web1"}`:                                     1,
		`troc_up{host="we\"b2"}`:                                   0,
		`troc_runs_total{host="web1", job="a", status="Failed"}`:   2,
		`troc_runs_total{host="we\"b2", job="a", status="Failed"}`: 5,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (%v), want %v; got %v", k, g, ok, v, got)
		}
	}
	if samples != len(want) {
		t.Errorf("%d samples, want %d\n%s", samples, len(want), m.bytes())
	}
}

// troc runs troc on the server's host alias directly, as a user
// there would.
func (srv *sshServer) troc(t *testing.T, alias string, args ...string) result {
	t.Helper()
	return runResult(t, srv.trocCommand(alias, args...))
}

func (srv *sshServer) trocCommand(alias string, args ...string) *exec.Cmd {
	cmd := exec.Command(srv.trocPath, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TROC_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TROC_CONFIG_PATH="+srv.hostDir(alias))
	return cmd
}

// The TestRemote tests drive every remote command against a real sshd on
// loopback, through the system's ssh client. They share one sshd and its
// hosts (sharedRemote).

// TestRemoteRunList: run list.
func TestRemoteRunList(t *testing.T) {
	_, s := sharedRemote(t)
	r := mustSucceed(t, s.troc("--host", "web1", "run", "list"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID  JOB") || !strings.Contains(lines[1], "report") || !strings.Contains(lines[1], "Failed") || !strings.Contains(lines[2], "backup") {
		t.Errorf("table =\n%s\nwant an \"ID  JOB\" header, a Failed report row, then a backup row", r.stdout)
	}
	var runs []runJSON
	jsonOf(t, mustSucceed(t, s.troc("--host", "web1", "run", "list", "--json", "--name", "backup")), &runs)
	if len(runs) != 1 || runs[0].Host != "web1" || runs[0].Job != "backup" || runs[0].Status != StatusSucceeded {
		t.Errorf("runs = %+v, want one Succeeded run of backup on web1", runs)
	}
}

// TestRemoteFanOutWithAHostDown: fan-out with a host down.
func TestRemoteFanOutWithAHostDown(t *testing.T) {
	_, s := sharedRemote(t)
	r := s.troc("--host", "web1", "--host", "down", "--host", "web2", "run", "list", "--limit", "3")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "HOST  ID  JOB") {
		t.Fatalf("table =\n%s\nwant a \"HOST  ID  JOB\" header and 3 rows", r.stdout)
	}
	hosts := map[string]int{}
	for _, line := range lines[1:] {
		hosts[strings.Fields(line)[0]]++
	}
	if hosts["web1"] == 0 || hosts["web2"] == 0 || len(hosts) != 2 {
		t.Errorf("hosts in the table = %v, want web1 and web2\n%s", hosts, r.stdout)
	}
	if got := strings.TrimSpace(r.stderr); strings.Count(got, "\n") != 0 || !strings.HasPrefix(got, "troc: down: ") || !strings.Contains(got, "refused") {
		t.Errorf("stderr = %q, want one line starting \"troc: down: \" that mentions refused", r.stderr)
	}
}

// TestRemoteHostsThatDoNotAnswerInTime: hosts that do not answer in time.
func TestRemoteHostsThatDoNotAnswerInTime(t *testing.T) {
	srv, _ := sharedRemote(t)
	for _, alias := range []string{"web2", "web3"} {
		os.MkdirAll(srv.hostDir(alias), 0o700)
		hang := filepath.Join(srv.hostDir(alias), "hang")
		writeFile(t, hang, "")
		defer os.Remove(hang)
	}
	slow := newSandbox(t)
	// Long enough for web1 to answer on a loaded machine, well short
	// of the hang.
	slow.env = append(srv.env(), "TROC_REMOTE_TIMEOUT=8s")
	start := time.Now()
	r := slow.troc("--host", "web1", "--host", "web2", "--host", "web3", "job", "list")
	// The hosts are asked at once: the two that hang cost one
	// timeout, not two.
	if took := time.Since(start); took >= 16*time.Second {
		t.Errorf("took %s: the hosts were not asked in parallel", took)
	}
	if r.code != 1 || !strings.HasSuffix(r.stderr, "troc: web2: no answer within 8s\ntroc: web3: no answer within 8s\n") || !strings.Contains(r.stdout, "web1  backup") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1, stdout containing \"web1  backup\", stderr ending in web2's and web3's \"no answer within 8s\"", r.code, r.stdout, r.stderr)
	}
}

// TestRemoteVersion: version.
func TestRemoteVersion(t *testing.T) {
	_, s := sharedRemote(t)
	r := s.troc("--host", "web1", "--host", "down", "version")
	if r.code != 1 || r.stdout != "HOST  VERSION\nweb1  troc "+version+"\n" || !strings.Contains(r.stderr, "troc: down: ssh: connect to host") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1, stdout %q, stderr containing \"troc: down: ssh: connect to host\"", r.code, r.stdout, r.stderr, "HOST  VERSION\nweb1  troc "+version+"\n")
	}
	var v versionJSON
	jsonOf(t, mustSucceed(t, s.troc("--host", "web1", "version", "--json")), &v)
	if v.Host != "web1" || v.Version != version || v.GoVersion != runtime.Version() {
		t.Errorf("version --json = %+v, want web1's %s built by %s", v, version, runtime.Version())
	}
	// A host that fails leaves no empty table behind.
	if r := s.troc("--host", "down", "version"); r.code != 1 || r.stdout != "" {
		t.Errorf("version of a host down: exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
}

// TestRemoteFanOutMergesRunsNewestFirst: fan-out merges runs newest first.
func TestRemoteFanOutMergesRunsNewestFirst(t *testing.T) {
	_, s := sharedRemote(t)
	var runs []runJSON
	jsonOf(t, mustSucceed(t, s.troc("--host", "web1", "--host", "web2", "run", "list", "--json")), &runs)
	hosts := map[string]int{}
	var prev time.Time
	for i, r := range runs {
		hosts[r.Host]++
		start, err := time.Parse(time.RFC3339Nano, *r.StartTime)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && start.After(prev) {
			t.Errorf("run %d (%s) starts after the one before it (%s)", i, *r.StartTime, *runs[i-1].StartTime)
		}
		prev = start
	}
	if hosts["web1"] < 2 || hosts["web2"] < 2 || len(hosts) != 2 {
		t.Errorf("runs by host = %v, want at least 2 each from web1 and web2", hosts)
	}
}

// TestRemoteHostsFileAndGroup: hosts file and group.
func TestRemoteHostsFileAndGroup(t *testing.T) {
	_, s := sharedRemote(t)
	file := filepath.Join(s.dir, "fleet")
	// web2 first: jobs of the same name are sorted by host, not by
	// the order the hosts were given in.
	writeFile(t, file, "# the fleet\nweb2 # new\nweb1\n")
	var jobs []jobJSON
	jsonOf(t, mustSucceed(t, s.troc("--hosts", file, "job", "list", "--json")), &jobs)
	var got []string
	for _, j := range jobs {
		got = append(got, j.Name+"@"+j.Host)
	}
	if want := []string{"backup@web1", "backup@web2", "nightly@web2", "report@web1"}; !slices.Equal(got, want) {
		t.Errorf("jobs = %q, want %q", got, want)
	}
	writeFile(t, filepath.Join(s.configDir(), "config.yaml"), "remote:\n  groups:\n    web: web1, web2\n")
	r := mustSucceed(t, s.troc("--group", "web", "job", "list"))
	if !strings.HasPrefix(r.stdout, "HOST  JOB") || strings.Count(r.stdout, "backup") != 2 {
		t.Errorf("job list =\n%s\nwant a \"HOST  JOB\" header and backup on both hosts", r.stdout)
	}
}

// TestRemoteShowLogJobShow: show, log, job show.
func TestRemoteShowLogJobShow(t *testing.T) {
	_, s := sharedRemote(t)
	var run runShowJSON
	jsonOf(t, mustSucceed(t, s.troc("--host", "web1", "run", "show", "1")), &run)
	if run.Host != "web1" || run.Job != "backup" || run.JobSettings.Name != "backup" {
		t.Errorf("run show = %+v, want host web1, job backup, settings of backup", run)
	}
	if r := mustSucceed(t, s.troc("--host", "web2", "run", "log", "-r", "1")); r.stdout != "hello from web2\n" {
		t.Errorf("run log = %q, want %q", r.stdout, "hello from web2\n")
	}
	r := mustSucceed(t, s.troc("--host", "web1", "--host", "web2", "run", "log", "1"))
	if want := "==> web1 <==\nhello from web1\n\n==> web2 <==\nhello from web2\n"; r.stdout != want {
		t.Errorf("run log of two hosts =\n%s\nwant\n%s", r.stdout, want)
	}
	r = mustSucceed(t, s.troc("--host", "web2", "job", "show", "--name", "nightly"))
	if !strings.Contains(r.stdout, "schedule:      0 3 * * *") || !strings.Contains(r.stdout, "health:        failing") {
		t.Errorf("job show =\n%s\nwant schedule \"0 3 * * *\" and health failing", r.stdout)
	}
}

// TestRemoteCheckAndMetrics: check and metrics.
func TestRemoteCheckAndMetrics(t *testing.T) {
	_, s := sharedRemote(t)
	r := s.troc("--host", "web1", "--host", "web2", "check")
	// Exit 1 for web2's failing job: no host failed.
	if r.code != 1 || !strings.Contains(r.stdout, "web2  nightly") || !strings.Contains(r.stdout, "failing") || strings.Contains(r.stderr, "troc: web") {
		t.Errorf("check: exit %d\n%s%s\nwant exit 1, web2's nightly failing on stdout, no \"troc: web\" on stderr", r.code, r.stdout, r.stderr)
	}
	r = mustSucceed(t, s.troc("--host", "web1", "--host", "web2", "metrics"))
	hosts := map[string]bool{}
	for _, f := range parseMetrics(t, r.stdout) {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "host" {
					hosts[l.GetValue()] = true
				}
			}
		}
	}
	if !hosts["web1"] || !hosts["web2"] || len(hosts) != 2 {
		t.Errorf("hosts in the metrics = %v, want web1 and web2", hosts)
	}
}

// TestRemoteWatchAndKillARunningRun: watch and kill a running run.
func TestRemoteWatchAndKillARunningRun(t *testing.T) {
	srv, s := sharedRemote(t)
	// The job goes on once the test says so: after it has seen the
	// first line while the run was still going.
	job, id, proceed := startGatedJob(t, srv, s.dir, "slow", "echo done; exit 4")
	watch := s.command("--host", "web1", "run", "watch", id)
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	watch.Stderr = &stderr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	// The output shows as it is written: the first line while the
	// run is still going.
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); line != "started\n" {
		t.Errorf("watch's first line = %q (%v), want %q", line, err, "started\n")
	}
	var run runShowJSON
	if jsonOf(t, srv.troc(t, "web1", "run", "show", id), &run); run.Status != StatusRunning {
		t.Errorf("the first line came after the run ended %s", run.Status)
	}
	writeFile(t, proceed, "")
	rest, _ := io.ReadAll(lines)
	if err := watch.Wait(); watch.ProcessState.ExitCode() != 4 || string(rest) != "done\n" {
		t.Errorf("watch: %v, rest of stdout = %q; want exit 4, %q\nstderr: %s", err, rest, "done\n", stderr.String())
	}
	job.Wait()

	job = srv.trocCommand("web1", "exec", "--name", "stuck", "sleep 300")
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	id = runningRun(t, srv, "web1", "stuck")
	if r := s.troc("--host", "web1", "--host", "web2", "run", "kill", id); r.code != 2 || !strings.Contains(r.stderr, "run kill takes one --host") {
		t.Errorf("kill on two hosts: exit, stderr = %d, %q; want 2, it to contain %q", r.code, r.stderr, "run kill takes one --host")
	}
	// On a terminal, the question is asked here, with what the run
	// is there; "n" sends nothing.
	master, slave := openPTY(t)
	cmd := s.command("--host", "web1", "run", "kill", id, "--signal", "INT")
	cmd.Stdin = slave
	var answered syncBuffer
	cmd.Stderr = &answered
	master.WriteString("n\n")
	want := "Send SIGINT to run " + id + " of stuck on web1 (process group "
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(answered.String(), want) || !strings.Contains(answered.String(), "sleep 300)? [y/N] troc: not confirmed; no signal sent") {
		t.Errorf("kill answered n: %v\n%s\nwant exit 1 and it to contain %q and \"sleep 300)? [y/N] troc: not confirmed; no signal sent\"", err, answered.String(), want)
	}
	r := mustSucceed(t, s.troc("--host", "web1", "run", "kill", id, "--signal", "INT"))
	if !strings.Contains(r.stdout, "sent SIGINT to run "+id+" of stuck") {
		t.Errorf("kill: stdout = %q, want it to contain %q", r.stdout, "sent SIGINT to run "+id+" of stuck")
	}
	job.Wait()
	jsonOf(t, srv.troc(t, "web1", "run", "show", id), &run)
	if run.Status != StatusTerminated || deref(run.Signal) != "SIGINT" {
		t.Errorf("killed run: status, signal = %s, %v; want Terminated, SIGINT", run.Status, deref(run.Signal))
	}
}

// TestRemoteAnInterruptedWatchLeavesNothingBehind: an interrupted watch leaves nothing behind.
func TestRemoteAnInterruptedWatchLeavesNothingBehind(t *testing.T) {
	srv, s := sharedRemote(t)
	job, id, proceed := startGatedJob(t, srv, s.dir, "quiet", "true")
	watch := s.command("--host", "web1", "run", "watch", id)
	watch.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "started\n" {
		t.Errorf("watch's first line = %q (%v), want %q", line, err, "started\n")
	}
	if len(remoteWatches(srv, "web1", id)) == 0 {
		t.Fatal("no troc run watch found running for the remote side")
	}
	// Ctrl-C: SIGINT to the terminal's foreground group, troc and its
	// ssh. The troc on web1 has no terminal to hang up; it must see
	// that no one reads its output any more, though the run is silent.
	syscall.Kill(-watch.Process.Pid, syscall.SIGINT)
	watch.Wait()
	waitFor(t, "the troc run watch on web1 to leave", func() bool { return len(remoteWatches(srv, "web1", id)) == 0 })
	var run runShowJSON
	if jsonOf(t, srv.troc(t, "web1", "run", "show", id), &run); run.Status != StatusRunning {
		t.Errorf("the run is %s: a watch that leaves must not touch it", run.Status)
	}
	writeFile(t, proceed, "")
	job.Wait()
}

// TestRemoteTerm: term.
func TestRemoteTerm(t *testing.T) {
	srv, s := sharedRemote(t)
	job := srv.trocCommand("web2", "exec", "--name", "hung", "sleep 300")
	job.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-job.Process.Pid, syscall.SIGKILL); job.Wait() }()
	id := runningRun(t, srv, "web2", "hung")
	// The host's logs stay in its own directory, not the machine's
	// /var/log/troc (root's default).
	var shown runShowJSON
	jsonOf(t, srv.troc(t, "web2", "run", "show", id), &shown)
	for _, path := range []string{deref(shown.LogFile), deref(shown.SystemLogFile)} {
		if !strings.HasPrefix(path, srv.hostDir("web2")+"/") {
			t.Errorf("log %q, want it in %s", path, srv.hostDir("web2"))
		}
	}
	r := mustSucceed(t, s.troc("--host", "web2", "run", "term", id))
	if !strings.Contains(r.stdout, "run "+id+" of hung marked Terminated") {
		t.Errorf("term: stdout = %q, want it to contain %q", r.stdout, "run "+id+" of hung marked Terminated")
	}
}

// TestRemoteUiThroughSshT: ui through ssh -t.
func TestRemoteUiThroughSshT(t *testing.T) {
	_, s := sharedRemote(t)
	master, slave := openPTY(t)
	ws := struct{ row, col, x, y uint16 }{24, 80, 0, 0}
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); errno != 0 {
		t.Fatal(errno)
	}
	cmd := s.command("ui", "--host", "web2")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var screen syncBuffer
	go io.Copy(&screen, master)
	// web2's jobs, drawn by web2's troc ui on the terminal ssh -t
	// gave it.
	waitFor(t, "web2's dashboard", func() bool {
		return strings.Contains(screen.String(), "nightly") && strings.Contains(screen.String(), "failing")
	})
	master.WriteString("q")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("troc ui --host: %v\n%q", err, screen.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("troc ui --host did not quit on q\n%q", screen.String())
	}
	var modes syscall.Termios
	if err := termios(slave, syscall.TCGETS, &modes); err != nil || modes.Lflag&(syscall.ICANON|syscall.ECHO) != syscall.ICANON|syscall.ECHO {
		t.Errorf("the terminal was left in raw mode: lflag %#x, %v", modes.Lflag, err)
	}
}

// TestRemoteNothingIsInjected: nothing is injected.
func TestRemoteNothingIsInjected(t *testing.T) {
	srv, s := sharedRemote(t)
	marker := filepath.Join(s.dir, "injected")
	for _, args := range [][]string{
		{"run", "list", "--name", "x'; touch " + marker + "; echo '"},
		{"run", "list", "--since", "$(touch " + marker + ")"},
		{"job", "show", "--name", "`touch " + marker + "`"},
		{"run", "log", "1;touch " + marker},
	} {
		r := s.troc(append([]string{"--host", "web1"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "invalid") {
			t.Errorf("%q: exit, stderr = %d, %q; want 2, it to contain \"invalid\"", args, r.code, r.stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%q ran a command on the remote host", args)
		}
	}
	if r := s.troc("--host", "web1;touch "+marker, "run", "list"); r.code != 2 || !strings.Contains(r.stderr, "invalid host") {
		t.Errorf("host with a command: exit, stderr = %d, %q; want 2, it to contain \"invalid host\"", r.code, r.stderr)
	}

	// Every word reaches the troc there as it was given, through ssh
	// and the remote user's login shell: a "troc" that prints its
	// arguments shows what arrived.
	echo := filepath.Join(srv.dir, "echo-args")
	writeFile(t, echo, "#!/bin/sh\nprintf '%s\\0' \"$@\"\n")
	os.Chmod(echo, 0o755)
	e := newSandbox(t)
	e.env = append(srv.env(), "TROC_REMOTE_TROC_PATH="+echo)
	words := []string{"", "two words", "it's", `"$(touch ` + marker + `)"`, "`touch " + marker + "`",
		"a;b|c&d", "$HOME", "*", "line\nbreak", "-x", "~", `back\slash`}
	r := mustSucceed(t, e.troc(append([]string{"--host", "web1", "run", "log"}, words...)...))
	got := strings.Split(strings.TrimSuffix(r.stdout, "\x00"), "\x00")
	if want := append([]string{"run", "log"}, words...); !slices.Equal(got, want) {
		t.Errorf("sent %q\narrived as %q", want, got)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a word ran a command on the remote host")
	}
}

// TestRemoteTrocMissingOrTooOldThere: troc missing or too old there.
func TestRemoteTrocMissingOrTooOldThere(t *testing.T) {
	srv, _ := sharedRemote(t)
	missing := newSandbox(t)
	missing.env = append(srv.env(), "TROC_REMOTE_TROC_PATH=/nonexistent/troc")
	r := missing.troc("--host", "web1", "job", "list")
	if r.code != 1 || !strings.HasSuffix(r.stderr, "\ntroc: web1: no troc there at /nonexistent/troc (set remote.troc_path): bash: line 1: /nonexistent/troc: No such file or directory\n") {
		t.Errorf("missing: exit, stderr = %d, %q; want 1, it to end in web1's \"no troc there at /nonexistent/troc\" error", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("missing: stdout %q, want nothing: no table without a row", r.stdout)
	}
	// An old troc that prints its usage after the error, as Go's flag
	// package does, and no "troc: " before it: one line says it is
	// too old, quoting the error and not the usage, and no empty
	// table follows.
	old := filepath.Join(srv.dir, "old-troc")
	writeFile(t, old, "#!/bin/sh\nprintf 'flag provided but not defined: -json\\nUsage of troc job list:\\n  -name string\\n    \\tonly the job NAME\\n' >&2\nexit 2\n")
	os.Chmod(old, 0o755)
	missing.env = append(srv.env(), "TROC_REMOTE_TROC_PATH="+old)
	for _, args := range [][]string{{"job", "list"}, {"run", "list"}, {"check"}, {"version", "--json"}} {
		r = missing.troc(append([]string{"--host", "web1", "--host", "web2"}, args...)...)
		want := "troc: web1: troc there is too old for this command (it said: flag provided but not defined: -json)\n" +
			"troc: web2: troc there is too old for this command (it said: flag provided but not defined: -json)\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" && r.stdout != "[\n]\n" {
			t.Errorf("too old, %q: exit %d, stdout %q, stderr:\n%s\nwant exit 1, no table, stderr:\n%s", args, r.code, r.stdout, r.stderr, want)
		}
	}

	// One host of several without troc, or with one that does not
	// know the command: one line for it, the other's answer shown.
	fleet := filepath.Join(srv.dir, "fleet-troc")
	writeFile(t, fleet, "#!/bin/sh\n"+
		"[ -e \"$TROC_CONFIG_PATH/gone\" ] && exec /nonexistent/troc \"$@\"\n"+
		"[ -e \"$TROC_CONFIG_PATH/old\" ] && { echo 'troc: unknown command \"job\"' >&2; echo 'troc: hint: run troc help' >&2; exit 2; }\n"+
		"exec "+shellQuote(srv.trocPath)+" \"$@\"\n")
	os.Chmod(fleet, 0o755)
	missing.env = append(srv.env(), "TROC_REMOTE_TROC_PATH="+fleet)
	for marker, want := range map[string]string{
		"gone": "troc: web2: no troc there at " + fleet + " (set remote.troc_path): ",
		"old":  `troc: web2: troc there is too old for this command (it said: unknown command "job")`,
	} {
		file := filepath.Join(srv.hostDir("web2"), marker)
		writeFile(t, file, "")
		r = missing.troc("--host", "web1", "--host", "web2", "job", "list")
		os.Remove(file)
		if r.code != 1 || !strings.Contains(r.stdout, "web1  backup") || strings.Contains(r.stdout, "web2") ||
			strings.Count(r.stderr, "troc: web2: ") != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("web2 %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1, web1's backup and no web2 on stdout, one \"troc: web2: \" line containing %q on stderr", marker, r.code, r.stdout, r.stderr, want)
		}
	}
}

// TestRemoteMisuse: misuse.
func TestRemoteMisuse(t *testing.T) {
	_, s := sharedRemote(t)
	s.refuses([]misuse{
		{"no command", []string{"--host", "web1"}, 2, "no command given after --host"},
		{"not remote", []string{"--host", "web1", "exec", "--name", "x", "true"}, 2, `troc --host runs run list|show|grep|log|watch|term|kill, job list|show, check, metrics, ui or version, not "exec"`},
		{"watch two", []string{"--host", "web1", "--host", "web2", "run", "watch", "1"}, 2, "run watch takes one --host"},
		{"no host", []string{"--host"}, 2, "flag needs an argument: --host"},
		{"bad flag there", []string{"--host", "web1", "run", "list", "--limit", "x"}, 2, `web1: invalid value "x" for flag -limit`},
	})
}

// startGatedJob starts job name on web1: it prints "started", waits until
// the file proceed (in dir) exists, then runs then. It returns the troc
// exec running it, the run's id once it is Running, and proceed, which is
// created at the test's end in any case.
func startGatedJob(t *testing.T, srv *sshServer, dir, name, then string) (*exec.Cmd, string, string) {
	t.Helper()
	proceed := filepath.Join(dir, "proceed-"+name)
	t.Cleanup(func() { os.WriteFile(proceed, nil, 0o600) })
	job := srv.trocCommand("web1", "exec", "--name", name, "echo started; while [ ! -e "+proceed+" ]; do sleep 0.05; done; "+then)
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	return job, runningRun(t, srv, "web1", name), proceed
}

// remoteWatches returns the pids of the trocs that srv's ssh started to
// watch run id of alias: those running "run watch ID" with alias's config.
func remoteWatches(srv *sshServer, alias, id string) []int {
	config := "TROC_CONFIG_PATH=" + srv.hostDir(alias)
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		i := slices.Index(args, "watch")
		if i <= 0 || args[i-1] != "run" || !slices.Contains(args[i:], id) {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if slices.Contains(strings.Split(string(env), "\x00"), config) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// runningRun waits until the job has a Running run on the alias's host
// and returns its id.
func runningRun(t *testing.T, srv *sshServer, alias, job string) string {
	t.Helper()
	var id string
	waitFor(t, job+" running on "+alias, func() bool {
		var runs []runJSON
		r := srv.troc(t, alias, "run", "list", "--json", "--name", job, "--status", "running")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &runs) != nil || len(runs) == 0 {
			return false
		}
		id = strconv.FormatInt(*runs[0].ID, 10)
		return true
	})
	return id
}
