package main

// Processes as /proc tells them, and signals by name: what troc needs to
// name one process for good (a pid and its start time) and to signal it.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// procStartTime returns when process pid started, in clock ticks after
// boot (field 22 of /proc/PID/stat). With the pid it names one process for
// good: a pid is reused, a pid and a start time are not.
func procStartTime(pid int) (int64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// procStat returns the state (field 3: R, S, Z, ...) and the start time of
// process pid, from /proc/PID/stat.
func procStat(pid int) (state byte, start int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	start, err = strconv.ParseInt(fields[19], 10, 64) // field 22 is the 20th after the name
	return fields[0][0], start, err
}

// clockTicks is the unit of a process's start time in /proc/PID/stat:
// USER_HZ, 100 on every architecture Linux runs Go on.
const clockTicks = 100

// bootTicks returns the time since boot in clockTicks: the clock and the
// unit of a process's start time in /proc/PID/stat (CLOCK_BOOTTIME).
func bootTicks() (int64, error) {
	const clockBoottime = 7
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockBoottime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, e
	}
	return ts.Nano() / (1e9 / clockTicks), nil
}

// pipeHolder returns a process, other than troc, that started at since
// ticks or later and has the pipe whose inode is ino as its stdout or
// stderr, with its start time; pid 0 if there is none. It reads every
// process's /proc entry, so it is only for the rare lock that a troc left
// while its job was starting (markStarting). Only a process of troc's own
// user counts, as the job is: no other user's process can hold a job's
// lock, even one root's troc can see.
func pipeHolder(ino uint64, since int64) (pid int, start int64) {
	d, err := os.Open("/proc")
	if err != nil {
		return 0, 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pipe := "pipe:[" + strconv.FormatUint(ino, 10) + "]"
	self, euid := os.Getpid(), uint32(os.Geteuid())
	for _, name := range names {
		p, err := strconv.Atoi(name)
		if err != nil || p == self || !writesTo(name, pipe) {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+name, &st) != nil || st.Uid != euid {
			continue
		}
		if s, err := procStartTime(p); err == nil && s >= since {
			return p, s
		}
	}
	return 0, 0
}

// writesTo reports whether process pid (a /proc entry's name) has target
// (a link's text, such as pipe:[123]) as its stdout or stderr.
func writesTo(pid, target string) bool {
	for _, fd := range []string{"/fd/1", "/fd/2"} {
		if link, _ := os.Readlink("/proc/" + pid + fd); link == target {
			return true
		}
	}
	return false
}

// processAlive reports whether the process pid that started at start is
// still there, and not a zombie: one that has exited but is not yet
// reaped (its parent troc was killed, say) has ended for our purposes.
func processAlive(pid int, start int64) bool {
	if pid <= 0 {
		return false
	}
	state, got, err := procStat(pid)
	return err == nil && got == start && state != 'Z' && state != 'X'
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
	syscall.SIGSTKFLT: "SIGSTKFLT", syscall.SIGCHLD: "SIGCHLD", syscall.SIGCONT: "SIGCONT",
	syscall.SIGSTOP: "SIGSTOP", syscall.SIGTSTP: "SIGTSTP", syscall.SIGTTIN: "SIGTTIN",
	syscall.SIGTTOU: "SIGTTOU", syscall.SIGURG: "SIGURG", syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGVTALRM: "SIGVTALRM", syscall.SIGPROF: "SIGPROF",
	syscall.SIGWINCH: "SIGWINCH", syscall.SIGIO: "SIGIO", syscall.SIGPWR: "SIGPWR",
	syscall.SIGSYS: "SIGSYS",
}

// signalName returns the signal's name, SIGTERM, or SIG<number> for one
// without a name (the real-time signals).
func signalName(s syscall.Signal) string {
	if name, ok := signalNames[s]; ok {
		return name
	}
	return "SIG" + strconv.Itoa(int(s))
}

// runAlive reports whether the run's job process is still there: its pid
// exists and started when the run's did. Without a recorded start time
// (one troc could not read) the pid alone has to do.
func runAlive(r *Run) bool {
	if r.PID <= 0 {
		// Recorded before its process existed: only the troc that is
		// starting it can be in that state, for an instant.
		return time.Since(r.Start) < time.Minute
	}
	if r.PIDStart == 0 {
		err := syscall.Kill(r.PID, 0)
		return err == nil || err == syscall.EPERM
	}
	return processAlive(r.PID, r.PIDStart)
}

// signalNumber reads a signal as signalName writes it; 0 if it cannot.
func signalNumber(name string) syscall.Signal {
	if sig, err := parseSignal(name); err == nil {
		return sig
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(name, "SIG"))
	return syscall.Signal(n)
}

// parseSignal reads a signal name (TERM, SIGTERM, term) or number.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for sig, n := range signalNames {
		if n == name {
			return sig, nil
		}
	}
	return 0, usagef("invalid --signal %q: want a signal name (TERM, INT, HUP, KILL, USR1, ...) or number", s)
}
