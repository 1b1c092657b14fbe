package main

// troc exec --ionice: the job's I/O scheduling class and level, set with
// the ioprio_set(2) system call, as ionice(1) does.

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// ioPriority is an I/O class and its level, as ioprio_set takes them.
type ioPriority struct {
	class int // ioClassRealtime, ioClassBestEffort or ioClassIdle
	level int // 0 (highest) to 7; none for idle
}

// The classes of ioprio_set(2).
const (
	ioClassRealtime   = 1
	ioClassBestEffort = 2
	ioClassIdle       = 3
)

// parseIOPriority reads --ionice's CLASS[:LEVEL]: the class by name
// (realtime, best-effort, idle; rt, be) or number (1, 2, 3, as ionice -c
// takes them), and a level from 0 to 7 for the first two (default 4, the
// kernel's default for best-effort).
func parseIOPriority(s string) (ioPriority, error) {
	name, level, hasLevel := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var p ioPriority
	switch name {
	case "realtime", "rt", "1":
		p.class = ioClassRealtime
	case "best-effort", "be", "2":
		p.class = ioClassBestEffort
	case "idle", "3":
		p.class = ioClassIdle
	default:
		return p, fmt.Errorf("unknown class %q: use realtime, best-effort or idle, with :LEVEL (0-7) for the first two", name)
	}
	p.level = 4
	if hasLevel {
		if p.class == ioClassIdle {
			return p, fmt.Errorf("the idle class has no level")
		}
		n, err := strconv.Atoi(level)
		if err != nil || n < 0 || n > 7 {
			return p, fmt.Errorf("level %q is not from 0 to 7", level)
		}
		p.level = n
	}
	if p.class == ioClassIdle {
		p.level = 0
	}
	return p, nil
}

// String is p as --ionice takes it.
func (p ioPriority) String() string {
	switch p.class {
	case ioClassRealtime:
		return "realtime:" + strconv.Itoa(p.level)
	case ioClassBestEffort:
		return "best-effort:" + strconv.Itoa(p.level)
	}
	return "idle"
}

// setThreadIOPriority sets the calling thread's I/O priority, which a
// process it forks inherits.
func setThreadIOPriority(p ioPriority) error {
	const whoProcess = 1 // IOPRIO_WHO_PROCESS; who 0 is the calling thread
	prio := p.class<<13 | p.level
	_, _, errno := syscall.Syscall(syscall.SYS_IOPRIO_SET, whoProcess, 0, uintptr(prio))
	if errno != 0 {
		return errno
	}
	return nil
}
