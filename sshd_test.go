package main

// A real OpenSSH server on loopback, for the tests of troc --host: its own
// host key, client key, known_hosts and client config in a temporary
// directory, on a spare 127.0.0.1 port, stopped when the test ends. Each
// "host" is an alias in the client config for the same server, with its
// own history: the alias sends TROC_CONFIG_PATH, which the server accepts.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type sshServer struct {
	dir      string
	port     int
	config   string // the client config: ssh -F config
	trocPath string // a script that runs this test binary as troc there
}

// startSSHD starts sshd in dir, with the given host aliases, each with its own
// history under dir/hosts/ALIAS, plus the alias "down", whose port has
// nothing listening. cleanup is given what stops it: for the server the
// tests share, that runs once the test binary is done.
func startSSHD(t *testing.T, dir string, cleanup func(func()), aliases ...string) *sshServer {
	t.Helper()
	sshd := needProgram(t, "/usr/sbin/sshd", "openssh-server")
	needProgram(t, "ssh", "openssh-client")
	keygen := needProgram(t, "ssh-keygen", "openssh-client")

	s := &sshServer{dir: dir, port: sparePort(t)}
	for _, key := range []string{"host_key", "user_key"} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "troc-test", "-f", filepath.Join(s.dir, key)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	if os.Geteuid() == 0 {
		// sshd started by root wants its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := func(name string) string { return filepath.Join(s.dir, name) }
	writeFile(t, path("authorized_keys"), fileContent(t, path("user_key.pub")))
	hostKey := strings.TrimSpace(fileContent(t, path("host_key.pub")))
	writeFile(t, path("known_hosts"), fmt.Sprintf("[127.0.0.1]:%d %s\n", s.port, hostKey))
	template, err := os.ReadFile(filepath.Join("testdata", "ssh", "sshd_config"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path("sshd_config"), strings.NewReplacer("@PORT@", strconv.Itoa(s.port), "@DIR@", s.dir).Replace(string(template)))

	// The remote troc: this test binary, as TestMain runs it, with a home
	// and TMPDIR of its own (ssh passes on no environment but what the
	// alias sends).
	home := path("remote-home")
	tmp := path("remote-tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s.trocPath = path("troc")
	// A host whose directory holds a file named "hang" does not answer.
	// ssh passes no environment: a coverage-instrumented test binary
	// needs GOCOVERDIR, or it warns on stderr that it has none. Each
	// host's logs go beside its history: as root they would otherwise go
	// to the machine's own /var/log/troc.
	coverDir := ""
	if d := os.Getenv("GOCOVERDIR"); d != "" {
		coverDir = "GOCOVERDIR=" + shellQuote(d) + " "
	}
	writeFile(t, s.trocPath, fmt.Sprintf("#!/bin/sh\n[ -e \"$TROC_CONFIG_PATH/hang\" ] && exec sleep 60\n"+
		"%sTROC_TEST_MAIN=1 HOME=%s TMPDIR=%s TROC_LOGDIR=\"$TROC_CONFIG_PATH/logs\" exec %s \"$@\"\n",
		coverDir, shellQuote(home), shellQuote(tmp), shellQuote(exe)))
	if err := os.Chmod(s.trocPath, 0o755); err != nil {
		t.Fatal(err)
	}

	var cfg strings.Builder
	for _, alias := range aliases {
		fmt.Fprintf(&cfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n  SetEnv TROC_CONFIG_PATH=%s\n", alias, s.port, s.hostDir(alias))
	}
	fmt.Fprintf(&cfg, "Host down\n  HostName 127.0.0.1\n  Port %d\n", sparePort(t))
	fmt.Fprintf(&cfg, `Host *
  HostKeyAlias [127.0.0.1]:%d
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  KexAlgorithms curve25519-sha256
  LogLevel ERROR
`, s.port, path("user_key"), path("known_hosts"))
	s.config = path("ssh_config")
	writeFile(t, s.config, cfg.String())

	cmd := exec.Command(sshd, "-D", "-e", "-f", path("sshd_config"))
	log, err := os.Create(path("sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not listen on port %d: %v\n%s", s.port, err, fileContent(t, path("sshd.log")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// hostDir is the config directory, and so the history, of an alias.
func (s *sshServer) hostDir(alias string) string { return filepath.Join(s.dir, "hosts", alias) }

// env is what a local troc needs to reach the server: its ssh command and
// where troc is there.
func (s *sshServer) env() []string {
	return []string{"TROC_REMOTE_SSH=ssh -F " + s.config, "TROC_REMOTE_TROC_PATH=" + s.trocPath}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// afterTests are cleanups of what tests share, run once every test is done
// (TestMain).
var afterTests []func()

// remoteFixture is one sshd, with the hosts web1, web2 and web3 and a few
// runs on web1 and web2, and a local sandbox that reaches them: what the
// TestRemote tests share. The first of them starts it; it stops when the
// test binary is done.
var remoteFixture struct {
	once sync.Once
	srv  *sshServer
	s    *sandbox // its t is that of the test that made it
}

// sharedRemote returns the shared sshd and a sandbox that reaches it, for
// test t.
func sharedRemote(t *testing.T) (*sshServer, *sandbox) {
	t.Helper()
	remoteFixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "troc-remote-")
		if err != nil {
			t.Fatal(err)
		}
		afterTests = append(afterTests, func() { os.RemoveAll(dir) })
		sshd := filepath.Join(dir, "sshd")
		os.Mkdir(sshd, 0o700)
		srv := startSSHD(t, sshd, func(f func()) { afterTests = append(afterTests, f) }, "web1", "web2", "web3")
		srv.troc(t, "web1", "exec", "--name", "backup", "echo hello from web1")
		srv.troc(t, "web1", "exec", "--name", "report", "echo oops; exit 3")
		srv.troc(t, "web2", "exec", "--name", "backup", "echo hello from web2")
		srv.troc(t, "web2", "job", "add", "--name", "nightly", "--schedule", "0 3 * * *")
		srv.troc(t, "web2", "exec", "--name", "nightly", "exit 1")
		s := newSandboxIn(t, filepath.Join(dir, "local"))
		s.env = srv.env()
		s.troc("job", "list") // creates the local config, which says so on stderr
		remoteFixture.srv, remoteFixture.s = srv, s
	})
	if remoteFixture.s == nil {
		t.Fatal("the shared sshd did not start: see the first TestRemote test")
	}
	s := *remoteFixture.s
	s.t, s.env = t, slices.Clone(s.env)
	return remoteFixture.srv, &s
}

// mustSucceed fails t unless r exited 0, and returns r.
func mustSucceed(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit = %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}
