package main

// troc exec's environment flags: how the job runs, beside what runs.
// --env-file, --cwd, --nice, --ionice and --umask are flags of the run
// only, not settings of the job: like the command itself, which the job
// does not store either, they belong on the crontab line.
//
// Niceness and I/O priority are a thread's, on Linux, and a forked
// process takes them from the thread that forks it; the umask is the
// process's, shared by its threads, unless a thread unshares it. So troc
// forks the job from a thread of its own that it changes first
// (forkChanged) and that ends with the fork: troc itself, its supervision
// and its own files keep their priority and umask, and the job has its
// settings from its first instruction, before it can fork anything.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// execEnv is what the environment flags say.
type execEnv struct {
	envFile string
	vars    []string // KEY=VALUE, read from envFile
	cwd     string   // absolute; "": troc's own
	nice    *int
	ionice  *ioPriority
	umask   *int
}

// envFlags defines the environment flags on fs and returns the function
// that reads them once fs is parsed. An env file that cannot be read or
// parsed is an error then, before anything runs.
func envFlags(fs *flag.FlagSet) func() (execEnv, error) {
	var v execEnv
	fs.StringVar(&v.envFile, "env-file", "", "set the variables of `FILE` (KEY=VALUE lines, # comments, as systemd's EnvironmentFile) in the job's environment")
	fs.StringVar(&v.cwd, "cwd", "", "run the job in `DIR` (a relative PROG after -- is found there too)")
	nice := fs.String("nice", "", "run the job at niceness `N` (-20 to 19, as nice(1); below 0 needs root)")
	ionice := fs.String("ionice", "", "run the job in I/O `CLASS[:LEVEL]` (realtime, best-effort or idle; level 0-7), as ionice(1)")
	umask := fs.String("umask", "", "run the job with umask `MODE` (octal, as 027)")
	return func() (execEnv, error) {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		if given["env-file"] {
			var err error
			if v.vars, err = readEnvFile(v.envFile); err != nil {
				return v, &configError{err}
			}
		}
		if given["cwd"] {
			if v.cwd == "" {
				return v, usagef("--cwd is empty")
			}
			abs, err := filepath.Abs(v.cwd)
			if err != nil {
				return v, usagef("--cwd %s: %v", v.cwd, err)
			}
			v.cwd = abs
		}
		if given["nice"] {
			n, err := strconv.Atoi(strings.TrimSpace(*nice))
			if err != nil || n < -20 || n > 19 {
				return v, usagef("--nice: %q is not a niceness from -20 to 19", *nice)
			}
			v.nice = &n
		}
		if given["ionice"] {
			p, err := parseIOPriority(*ionice)
			if err != nil {
				return v, usagef("--ionice: %v", err)
			}
			v.ionice = &p
		}
		if given["umask"] {
			m, err := strconv.ParseUint(strings.TrimSpace(*umask), 8, 32)
			if err != nil || m > 0o777 {
				return v, usagef("--umask: %q is not an octal mode from 000 to 777", *umask)
			}
			n := int(m)
			v.umask = &n
		}
		return v, nil
	}
}

// String is the environment flags given, as recorded with the run
// (runs.environment): "--cwd /srv --nice 10"; "" for none. The env
// file's name is recorded, never what it holds.
func (v *execEnv) String() string {
	var parts []string
	if v.envFile != "" {
		parts = append(parts, "--env-file "+shellQuote(v.envFile))
	}
	if v.cwd != "" {
		parts = append(parts, "--cwd "+shellQuote(v.cwd))
	}
	if v.nice != nil {
		parts = append(parts, "--nice "+strconv.Itoa(*v.nice))
	}
	if v.ionice != nil {
		parts = append(parts, "--ionice "+v.ionice.String())
	}
	if v.umask != nil {
		parts = append(parts, fmt.Sprintf("--umask %04o", *v.umask))
	}
	return strings.Join(parts, " ")
}

// errSetup marks an error of the job's set-up (its directory, its
// priority), which troc records as a run it could not set up.
type errSetup struct{ err error }

func (e *errSetup) Error() string { return e.err.Error() }
func (e *errSetup) Unwrap() error { return e.err }

// checkDir makes sure the job's directory is one, before the fork: in
// the fork, a failed chdir would look like a program not found.
func (v *execEnv) checkDir() error {
	if v.cwd == "" {
		return nil
	}
	fi, err := os.Stat(v.cwd)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &errSetup{fmt.Errorf("--cwd %s: %w", v.cwd, err)}
	}
	return nil
}

// changesThread reports whether the job needs a thread of its own to be
// forked from (see the top of this file).
func (v *execEnv) changesThread() bool { return v.nice != nil || v.ionice != nil || v.umask != nil }

// forkChanged forks and executes the job as syscall.ForkExec does, from a
// thread changed to the job's niceness, I/O priority and umask. The
// thread is never given back to the Go runtime: it ends with its
// goroutine, so no other goroutine ever runs on it.
func (v *execEnv) forkChanged(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	type forked struct {
		pid int
		err error
	}
	done := make(chan forked, 1)
	go func() {
		runtime.LockOSThread() // and never unlocked: see above
		if err := v.changeThread(); err != nil {
			done <- forked{err: &errSetup{err}}
			return
		}
		pid, err := syscall.ForkExec(path, argv, attr)
		done <- forked{pid, err}
	}()
	f := <-done
	return f.pid, f.err
}

// changeThread sets the calling thread's niceness, I/O priority and
// umask to the job's.
func (v *execEnv) changeThread() error {
	if v.umask != nil {
		if err := syscall.Unshare(syscall.CLONE_FS); err != nil {
			return fmt.Errorf("--umask: unshare: %w", err)
		}
		syscall.Umask(*v.umask)
	}
	if v.nice != nil {
		// PRIO_PROCESS with who 0 is the calling thread on Linux.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, *v.nice); err != nil {
			return fmt.Errorf("--nice %d: %w", *v.nice, err)
		}
	}
	if v.ionice != nil {
		if err := setThreadIOPriority(*v.ionice); err != nil {
			return fmt.Errorf("--ionice %s: %w", v.ionice, err)
		}
	}
	return nil
}
