package main

// Some tests drive real programs from Debian's packages: OpenSSH's server
// for troc --host, tmux for troc ui. needProgram finds one, installing its
// package when it is missing and the tests run as root (as CI does, on a
// fresh machine). As root a program that cannot be had fails the test, so
// that CI never passes by skipping; otherwise the test is skipped with the
// command to run.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	installMu    sync.Mutex
	aptUpdated   bool
	installTried = map[string]error{}
)

// needProgram returns the path of program (a name looked up in $PATH and
// the sbin directories, or an absolute path), installing Debian's package
// pkg first when it is missing.
func needProgram(t testing.TB, program, pkg string) string {
	t.Helper()
	if path, ok := findProgram(program); ok {
		return path
	}
	installMu.Lock()
	defer installMu.Unlock()
	if path, ok := findProgram(program); ok {
		return path
	}
	err, tried := installTried[pkg]
	if !tried {
		err = aptInstall(t, pkg)
		installTried[pkg] = err
	}
	if errors.Is(err, errNotRoot) {
		t.Skipf("%s is missing: run apt-get install %s as root", program, pkg)
	}
	if err != nil {
		t.Fatalf("%s is missing and apt-get install %s failed: %v", program, pkg, err)
	}
	path, ok := findProgram(program)
	if !ok {
		t.Fatalf("%s is still missing after installing %s", program, pkg)
	}
	return path
}

func findProgram(program string) (string, bool) {
	if strings.HasPrefix(program, "/") {
		_, err := os.Stat(program)
		return program, err == nil
	}
	if path, err := exec.LookPath(program); err == nil {
		return path, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(dir + "/" + program); err == nil {
			return dir + "/" + program, true
		}
	}
	return "", false
}

// aptInstall installs pkg with apt-get, as root only. The package lists
// are refreshed once, and only when a first install fails.
func aptInstall(t testing.TB, pkg string) error {
	if os.Geteuid() != 0 {
		return errNotRoot
	}
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "-q", "--no-install-recommends", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	t.Logf("installing %s with apt-get", pkg)
	out, err := install()
	if err != nil && !aptUpdated {
		aptUpdated = true
		if upd, uerr := exec.Command("apt-get", "update", "-q").CombinedOutput(); uerr != nil {
			t.Logf("apt-get update: %v\n%s", uerr, upd)
		}
		out, err = install()
	}
	if err != nil {
		t.Logf("apt-get install %s: %v\n%s", pkg, err, out)
	}
	return err
}

var errNotRoot = errors.New("not root")

// mountTmpfs mounts a tmpfs of size (as mount's size= takes it) on a new
// directory under dir, unmounted when the test ends: a small file system
// that a test can fill. It needs root; without it the test is skipped,
// except under CI, which runs as root and must run every test.
func mountTmpfs(t *testing.T, dir, size string) string {
	t.Helper()
	path, err := os.MkdirTemp(dir, "tmpfs")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", path).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a tmpfs, which CI must (as root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a small file system here (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", path).Run() })
	return path
}

// fill fills the file system that dir is on, leaving no free block.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			break
		}
	}
	for n := 512; n > 0; n /= 2 {
		for {
			if _, err := f.Write(block[:n]); err != nil {
				break
			}
		}
	}
}

// needRoot skips a test that needs root when it runs as another user,
// and fails it in CI, which runs as root so that no such test passes by
// skipping.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root, as CI runs it")
	}
	t.Skip("this test needs root")
}

// otherUser runs troc as another user of this host, through su as cron
// would start it: that user's HOME, SHELL and PATH, nothing of the test's
// TROC_ settings. The test binary is copied where the user can run it.
type otherUser struct {
	t        *testing.T
	name     string
	exe      string
	coverDir string // GOCOVERDIR for a coverage-instrumented binary; "" when not
}

// asUser returns troc as user; the test needs root for it.
func asUser(t *testing.T, user string) *otherUser {
	t.Helper()
	needRoot(t)
	needProgram(t, "su", "util-linux")
	dir, err := os.MkdirTemp("", "troc-as-"+user+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "troc")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &otherUser{t: t, name: user, exe: exe}
	if os.Getenv("GOCOVERDIR") != "" {
		// A coverage-instrumented binary warns on stderr without a
		// directory it can write its counters to.
		u.coverDir = sharedDir(t)
	}
	return u
}

// command returns troc with args, run as the user with the variables of
// env (KEY=VALUE) added to what su gives it.
func (u *otherUser) command(env []string, args ...string) *exec.Cmd {
	words := []string{"exec", "env", "TROC_TEST_MAIN=1"}
	if u.coverDir != "" {
		words = append(words, shellQuote("GOCOVERDIR="+u.coverDir))
	}
	for _, kv := range env {
		words = append(words, shellQuote(kv))
	}
	words = append(words, shellQuote(u.exe))
	for _, a := range args {
		words = append(words, shellQuote(a))
	}
	cmd := exec.Command("su", "-s", "/bin/sh", u.name, "-c", strings.Join(words, " "))
	for _, kv := range os.Environ() {
		// Nothing of troc's, and no coverage directory that the other
		// user could not write.
		if !strings.HasPrefix(kv, "TROC_") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "GOCOVERDIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Dir = "/"
	return cmd
}

// troc runs troc as the user to completion.
func (u *otherUser) troc(env []string, args ...string) result {
	u.t.Helper()
	return runResult(u.t, u.command(env, args...))
}

// sharedDir returns a new directory that every user may write, as
// node_exporter's textfile directory may be.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "troc-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil { // as /tmp
		t.Fatal(err)
	}
	return dir
}
