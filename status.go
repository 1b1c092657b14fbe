package main

// The states of a run, and the lists of them that settings and flags take.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Status is the state of a run as stored in the history and shown to users.
// The spellings are the ones the original troc used; scripts match on them.
type Status string

const (
	StatusRunning    Status = "Running"
	StatusSkipped    Status = "Skipped"
	StatusSucceeded  Status = "Succeeded"
	StatusFailed     Status = "Failed"
	StatusTerminated Status = "Terminated"
	StatusTimedOut   Status = "TimedOut"
)

// Statuses lists every status in the order they are documented.
var Statuses = []Status{
	StatusRunning, StatusSkipped, StatusSucceeded,
	StatusFailed, StatusTerminated, StatusTimedOut,
}

// StatusSuspect is no run's status: in notify.on and --notify-on it says
// that troc check --notify announces a job that becomes suspect
// (anomaly.go), as it announces one that is failing.
const StatusSuspect Status = "Suspect"

// notifyStatuses are the words of notify.on and --notify-on.
var notifyStatuses = append(slices.Clip(Statuses), StatusSuspect)

// isFailure reports whether a run in state s counts as failed for the
// streak rules.
func isFailure(s Status) bool {
	return s == StatusFailed || s == StatusTimedOut || s == StatusTerminated
}

// parseNotifyList is parseStatusWords for notify.on and --notify-on: the
// statuses, and suspect.
func parseNotifyList(s string) ([]Status, error) { return parseStatusWords(s, notifyStatuses) }

// parseStatusWords parses a comma-separated list of the statuses in valid,
// in any case, "failed,TimedOut"; "none" is the empty list. The result
// follows the order of valid, without repeats. Errors name the bad value
// and list the valid ones.
func parseStatusWords(s string, valid []Status) ([]Status, error) {
	out := []Status{}
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return out, nil
	}
	seen := map[Status]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		i := slices.IndexFunc(valid, func(st Status) bool { return strings.EqualFold(string(st), f) })
		if i < 0 {
			names := make([]string, len(valid))
			for i, st := range valid {
				names[i] = strings.ToLower(string(st))
			}
			what := fmt.Sprintf("unknown status %q", f)
			if f == "" {
				what = fmt.Sprintf("empty status in %q", s)
			}
			return nil, fmt.Errorf("%s: want a comma-separated list of %s, or none", what, strings.Join(names, ", "))
		}
		seen[valid[i]] = true
	}
	for _, st := range valid {
		if seen[st] {
			out = append(out, st)
		}
	}
	return out, nil
}

// statusList writes statuses as notify.on takes them.
func statusList(list []Status) string {
	if len(list) == 0 {
		return "none"
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = strings.ToLower(string(s))
	}
	return strings.Join(names, ",")
}

// parseStatuses reads a flag's list of statuses (see parseStatusWords);
// flag names the option for the error. An empty list is nil: no filter.
func parseStatuses(flag, s string) ([]Status, error) {
	return parseStatusFlag(flag, s, Statuses)
}

// parseStatusFlag is parseStatuses of the statuses in valid.
func parseStatusFlag(flag, s string, valid []Status) ([]Status, error) {
	if s == "" {
		return nil, nil
	}
	list, err := parseStatusWords(s, valid)
	if err == nil && len(list) == 0 {
		err = errors.New("none selects nothing: give statuses")
	}
	if err != nil {
		return nil, usagef("invalid %s: %v", flag, err)
	}
	return list, nil
}

// finalStatuses are the statuses a run can end with, in documented order:
// the troc_job_runs_total series of each job.
var finalStatuses = slices.DeleteFunc(slices.Clone(Statuses), func(s Status) bool { return s == StatusRunning })
