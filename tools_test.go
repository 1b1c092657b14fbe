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
		for f.Write(block[:n]); ; {
			if _, err := f.Write(block[:n]); err != nil {
				break
			}
		}
	}
}
