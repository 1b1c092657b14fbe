package main

// Directories troc writes into: locks, logs, the spool, the history's.
//
// troc runs as root as often as not, so each must be a place no other
// local user can create, replace or redirect a file in. A directory is
// trusted (trustDir) when it is a directory owned by troc's user or root
// and writable by no one else, and every directory above it, symlinks
// resolved, is owned by troc's user or root and is either writable by no
// one else or sticky (/tmp) or, owned by root, writable by its group only
// (Debian's /var/log is root:syslog 0775 on some hosts). It is the rule
// OpenSSH applies to ~/.ssh, with the sticky exception that /tmp needs.
//
// A configured directory that is not trusted (someone else owns it or a
// directory above it, its mode lets others in, it cannot be made) is not
// used, and never stops a job: troc falls back to its own default, says so
// on stderr and in the run's note, and runs the job.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// trustDir returns an error saying why troc must not keep files in dir,
// or nil. It creates nothing.
func trustDir(dir string) error { return trustPath(dir, true) }

// trustPath is trustDir, with dir judged as the directory troc writes in
// (leaf) or as one above it.
//
// Most paths have no symlink in them, and then the walk up from dir
// itself meets every directory that EvalSymlinks would, so the walk is
// tried first and EvalSymlinks' second round of lstat calls is saved
// (exec judges five or six directories). The walk lstats each directory
// in turn as the last element of its path, so it sees any symlink on the
// way as a non-directory. Anything but a clean absolute path whose every
// directory passes (a symlink, a missing or refused directory) is judged
// the long way, so that its error is the one it always was.
func trustPath(dir string, leaf bool) error {
	if filepath.IsAbs(dir) && filepath.Clean(dir) == dir && trustedUp(dir, leaf) == nil {
		return nil
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return trustedUp(real, leaf)
}

// trustedUp checks dir, as trustPath says, and every directory above it,
// without resolving symlinks.
func trustedUp(dir string, leaf bool) error {
	uid := uint32(os.Getuid())
	for d := dir; ; d, leaf = filepath.Dir(d), false {
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode()
		switch {
		case !fi.IsDir():
			return fmt.Errorf("%s is %s, not a directory", d, fileKind(mode))
		case !ok || st.Uid != uid && st.Uid != 0:
			return fmt.Errorf("%s belongs to another user (uid %d)", d, st.Uid)
		case leaf && mode.Perm()&0o022 != 0:
			return fmt.Errorf("%s is writable by other users (mode %04o)", d, mode.Perm())
		case !leaf && mode.Perm()&0o002 != 0 && mode&os.ModeSticky == 0:
			return fmt.Errorf("%s, above it, is writable by every user and not sticky (mode %04o)", d, mode.Perm())
		case !leaf && mode.Perm()&0o020 != 0 && st.Uid != 0:
			return fmt.Errorf("%s, above it, is writable by its group (mode %04o)", d, mode.Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// ownDir makes dir (mode 0700, with any missing parents) unless it exists,
// and trusts it (trustDir). It creates nothing under a directory it would
// not trust above dir.
func ownDir(dir string) error {
	above := dir
	for {
		if _, err := os.Lstat(above); err == nil || above == filepath.Dir(above) {
			break
		}
		above = filepath.Dir(above)
	}
	if above != dir {
		if err := trustPath(above, false); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return trustDir(dir)
}

// pickDir returns the directory to use: configured when ownDir accepts
// it, else the first of defaults it accepts, "" when there is none. When
// configured was set (it is not defaults[0]) and refused, a warning says
// why and what is used instead; a default refused (no home directory, say)
// passes to the next in silence.
func pickDir(what, configured string, defaults ...string) (string, []string) {
	var warnings []string
	if configured != defaults[0] {
		err := ownDir(configured)
		if err == nil {
			return configured, nil
		}
		warnings = append(warnings, fmt.Sprintf("%s %s not used: %v", what, configured, err))
	}
	for _, dir := range defaults {
		if dir != "" && ownDir(dir) == nil {
			if len(warnings) > 0 {
				warnings[0] += "; using " + dir
			}
			return dir, warnings
		}
	}
	return "", warnings
}

// lockDir is the directory of job locks: lockdir, else its default beside
// the history, else the runtime directory. Every troc that shares a
// history and a config makes the same choice, so they share their locks.
func (c *Config) lockDir() (string, []string) {
	return pickDir("lockdir", c.LockDir, c.lockDirs()...)
}

// lockDirs are the defaults of lockDir, in order.
func (c *Config) lockDirs() []string {
	dirs := []string{c.defaultLockDir}
	if run := runtimeDir(); run != "" {
		dirs = append(dirs, filepath.Join(run, "troc", "locks"))
	}
	return dirs
}

// logDir is the directory of run logs and system logs: logdir, else its
// default, else logs/ beside the history (for a user without a home
// directory). "" when none can be used: jobs then run without logs.
func (c *Config) logDir() (string, []string) {
	return pickDir("logdir", c.LogDir, c.defaultLogDir, filepath.Join(filepath.Dir(c.Database), "logs"))
}

// defaultLogDir is where hosts keep logs: /var/log/troc for root, else
// $XDG_STATE_HOME/troc, else ~/.local/state/troc. Never /tmp: a reboot or
// a tmp cleaner would take the logs that the history points at.
func defaultLogDir(env func(string) (string, bool)) (string, error) {
	if os.Getuid() == 0 {
		return "/var/log/troc", nil
	}
	if d := lookupEnv(env, "XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "troc"), nil
	}
	home, err := homeDir(env)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "troc"), nil
}

// createPrivate creates a new file that nobody else can read, failing if
// anything, a symlink included, is already at path.
func createPrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
}

// errNotTroc says a file is not one troc made in a directory of its own.
var errNotTroc = errors.New("not a file troc made in a directory of its own")

// ownLogFile returns nil when path may be deleted as a run's log: a
// regular file (not a symlink) whose name troc gives logs, in a directory
// troc trusts. A path read from the history or a spool file is checked
// so before anything deletes it: it could name any file on the host.
func ownLogFile(path string) error {
	name := filepath.Base(path)
	if !filepath.IsAbs(path) || !logName(name) {
		return errNotTroc
	}
	if err := trustDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("%w: %v", errNotTroc, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errNotTroc
	}
	return nil
}

// logName reports whether name is one troc gives a run's log or system
// log: NAME.STAMP.RANDOM.log or trocsys_NAME_STAMP.RANDOM.log (see
// createRunLog, openSystemLog).
func logName(name string) bool {
	if filepath.Ext(name) != ".log" || len(name) < len("a.20060102T150405Z.abcdef.log") {
		return false
	}
	body := name[:len(name)-len(".log")]
	random := body[len(body)-6:]
	if body[len(body)-7] != '.' {
		return false
	}
	for _, c := range []byte(random) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	body = body[:len(body)-7]
	if len(body) < 17 || body[len(body)-1] != 'Z' {
		return false
	}
	stamp, rest := body[len(body)-16:], body[:len(body)-16]
	if stamp[8] != 'T' || len(rest) < 2 {
		return false
	}
	sep := rest[len(rest)-1]
	job := rest[:len(rest)-1]
	if trimmed, ok := strings.CutPrefix(job, "trocsys_"); ok && sep == '_' {
		job = trimmed
	} else if sep != '.' {
		return false
	}
	return checkJobName(job) == nil
}
