package main

// troc exec's environment flags: how the job runs, beside what runs:
// --env-file, --cwd, --nice, --ionice and --umask. Each is a setting of
// the job too (job add, job update), which the run's flag overrides, as
// for job control (jobcontrol.go); "" takes none, over the job's.
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

// execEnv is how the job runs: the environment flags of a run, or the
// settings of a job.
type execEnv struct {
	EnvFile string      // absolute; "": none
	Cwd     string      // absolute; "": troc's own
	Nice    *int        // nil: troc's own
	IONice  *ioPriority // nil: troc's own
	Umask   *int        // nil: troc's own

	given map[string]bool // the flags given, by name (a run's, a change's)
	vars  []string        // KEY=VALUE, read from EnvFile
	read  bool            // vars were read
}

// envFlags defines the environment flags on fs and returns the function
// that reads them once fs is parsed: the flags given, checked, and the
// env file read. A file that cannot be read or parsed is an error then,
// before anything runs (a configError).
func envFlags(fs *flag.FlagSet) func() (execEnv, error) {
	envFile := fs.String("env-file", "", "set the variables of `FILE` (KEY=VALUE lines, # comments, as systemd's EnvironmentFile) in the job's environment")
	cwd := fs.String("cwd", "", "run the job in `DIR` (a relative PROG after -- is found there too)")
	nice := fs.String("nice", "", "run the job at niceness `N` (-20 to 19, as nice(1); below 0 needs root)")
	ionice := fs.String("ionice", "", "run the job in I/O `CLASS[:LEVEL]` (realtime, best-effort or idle; level 0-7), as ionice(1)")
	umask := fs.String("umask", "", "run the job with umask `MODE` (octal, as 027)")
	return func() (execEnv, error) {
		v := execEnv{given: map[string]bool{}}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "env-file", "cwd", "nice", "ionice", "umask":
				v.given[f.Name] = true
			}
		})
		var err error
		if v.EnvFile, err = absFlag("env-file", *envFile); err != nil {
			return v, err
		}
		if v.Cwd, err = absFlag("cwd", *cwd); err != nil {
			return v, err
		}
		if s := strings.TrimSpace(*nice); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < -20 || n > 19 {
				return v, usagef("--nice: %q is not a niceness from -20 to 19", *nice)
			}
			v.Nice = &n
		}
		if strings.TrimSpace(*ionice) != "" {
			p, err := parseIOPriority(*ionice)
			if err != nil {
				return v, usagef("--ionice: %v", err)
			}
			v.IONice = &p
		}
		if s := strings.TrimSpace(*umask); s != "" {
			m, err := strconv.ParseUint(s, 8, 32)
			if err != nil || m > 0o777 {
				return v, usagef("--umask: %q is not an octal mode from 000 to 777", *umask)
			}
			n := int(m)
			v.Umask = &n
		}
		if v.EnvFile != "" {
			if err := v.readVars(); err != nil {
				return v, &configError{err}
			}
		}
		return v, nil
	}
}

// absFlag is path, given to flag --name, made absolute: a job's setting
// means the same wherever troc exec runs from.
func absFlag(name, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", usagef("--%s %s: %v", name, path, err)
	}
	return abs, nil
}

// readVars reads the env file's variables.
func (v *execEnv) readVars() error {
	var err error
	v.vars, err = readEnvFile(v.EnvFile)
	v.read = err == nil
	return err
}

// over is the run's environment: v's flags over the job's settings j.
// An env file of the job's is not read yet (see readVars).
func (v execEnv) over(j execEnv) execEnv {
	out := execEnv{EnvFile: j.EnvFile, Cwd: j.Cwd, Nice: j.Nice, IONice: j.IONice, Umask: j.Umask}
	if v.given["env-file"] {
		out.EnvFile, out.vars, out.read = v.EnvFile, v.vars, v.read
	}
	if v.given["cwd"] {
		out.Cwd = v.Cwd
	}
	if v.given["nice"] {
		out.Nice = v.Nice
	}
	if v.given["ionice"] {
		out.IONice = v.IONice
	}
	if v.given["umask"] {
		out.Umask = v.Umask
	}
	return out
}

// String is the environment flags given, as recorded with the run
// (runs.environment): "--cwd /srv --nice 10"; "" for none. The env
// file's name is recorded, never what it holds.
func (v *execEnv) String() string {
	var parts []string
	if v.EnvFile != "" {
		parts = append(parts, "--env-file "+shellQuote(v.EnvFile))
	}
	if v.Cwd != "" {
		parts = append(parts, "--cwd "+shellQuote(v.Cwd))
	}
	if v.Nice != nil {
		parts = append(parts, "--nice "+strconv.Itoa(*v.Nice))
	}
	if v.IONice != nil {
		parts = append(parts, "--ionice "+v.IONice.String())
	}
	if v.Umask != nil {
		parts = append(parts, fmt.Sprintf("--umask %04o", *v.Umask))
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
	if v.Cwd == "" {
		return nil
	}
	fi, err := os.Stat(v.Cwd)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &errSetup{fmt.Errorf("--cwd %s: %w", v.Cwd, err)}
	}
	return nil
}

// changesThread reports whether the job needs a thread of its own to be
// forked from (see the top of this file).
func (v *execEnv) changesThread() bool { return v.Nice != nil || v.IONice != nil || v.Umask != nil }

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
	if v.Umask != nil {
		if err := syscall.Unshare(syscall.CLONE_FS); err != nil {
			return fmt.Errorf("--umask: unshare: %w", err)
		}
		syscall.Umask(*v.Umask)
	}
	if v.Nice != nil {
		// PRIO_PROCESS with who 0 is the calling thread on Linux.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, *v.Nice); err != nil {
			return fmt.Errorf("--nice %d: %w", *v.Nice, err)
		}
	}
	if v.IONice != nil {
		if err := setThreadIOPriority(*v.IONice); err != nil {
			return fmt.Errorf("--ionice %s: %w", v.IONice, err)
		}
	}
	return nil
}
