package main

// Resource use per run: what wait4 says the job and the descendants it
// waited for used. The supervisor reaps the job with wait4 already
// (exec.go), so the figures cost nothing to get; they travel with the
// run's end to the recorder, the spool and the history.
//
// Peak RSS is that of the largest single process among them, as the
// kernel keeps it (ru_maxrss), not a sum. A descendant the job did not
// wait for (a daemon it left behind) is not counted.

import (
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Usage is what a run's job used. A run whose job never ran has none.
type Usage struct {
	UserCPU, SystemCPU  time.Duration
	MaxRSS              int64 // bytes
	BlocksIn, BlocksOut int64 // file system blocks read and written
	VolSwitches         int64 // voluntary context switches (waiting for I/O, a lock, a child)
	InvolSwitches       int64 // involuntary ones (its time slice ran out)
}

// usageOf converts wait4's rusage.
func usageOf(ru *syscall.Rusage) *Usage {
	tv := func(t syscall.Timeval) time.Duration {
		return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
	}
	return &Usage{UserCPU: tv(ru.Utime), SystemCPU: tv(ru.Stime), MaxRSS: ru.Maxrss * 1024,
		BlocksIn: ru.Inblock, BlocksOut: ru.Oublock, VolSwitches: ru.Nvcsw, InvolSwitches: ru.Nivcsw}
}

// usageJSON is a run's resources in --json. Its keys are a promise.
type usageJSON struct {
	UserCPUMS     float64 `json:"user_cpu_ms"`
	SystemCPUMS   float64 `json:"system_cpu_ms"`
	MaxRSSBytes   int64   `json:"max_rss_bytes"`
	BlocksIn      int64   `json:"blocks_in"`
	BlocksOut     int64   `json:"blocks_out"`
	VolSwitches   int64   `json:"voluntary_ctx_switches"`
	InvolSwitches int64   `json:"involuntary_ctx_switches"`
}

// view is u as --json prints it; nil for no usage.
func (u *Usage) view() *usageJSON {
	if u == nil {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &usageJSON{UserCPUMS: ms(u.UserCPU), SystemCPUMS: ms(u.SystemCPU), MaxRSSBytes: u.MaxRSS,
		BlocksIn: u.BlocksIn, BlocksOut: u.BlocksOut, VolSwitches: u.VolSwitches, InvolSwitches: u.InvolSwitches}
}

// usage is the inverse of view (troc --host).
func (v *usageJSON) usage() *Usage {
	if v == nil {
		return nil
	}
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	return &Usage{UserCPU: d(v.UserCPUMS), SystemCPU: d(v.SystemCPUMS), MaxRSS: v.MaxRSSBytes,
		BlocksIn: v.BlocksIn, BlocksOut: v.BlocksOut, VolSwitches: v.VolSwitches, InvolSwitches: v.InvolSwitches}
}

// String is the usage in one line for people: "cpu 1.2s user + 0.3s sys,
// max rss 12.5 MiB, blocks 0 in / 8 out, ctx switches 3 vol / 1 invol".
func (u *Usage) String() string {
	return fmt.Sprintf("cpu %s user + %s sys, max rss %s, blocks %d in / %d out, ctx switches %d vol / %d invol",
		formatDuration(u.UserCPU), formatDuration(u.SystemCPU), formatBytes(u.MaxRSS), u.BlocksIn, u.BlocksOut, u.VolSwitches, u.InvolSwitches)
}

// medianUsage is, figure by figure, the median of the usages given (nil
// ones skipped); nil when there are none.
func medianUsage(us []*Usage) *Usage {
	var have []*Usage
	for _, u := range us {
		if u != nil {
			have = append(have, u)
		}
	}
	if len(have) == 0 {
		return nil
	}
	med := func(f func(*Usage) int64) int64 {
		v := make([]int64, len(have))
		for i, u := range have {
			v[i] = f(u)
		}
		return median(v)
	}
	return &Usage{
		UserCPU:       time.Duration(med(func(u *Usage) int64 { return int64(u.UserCPU) })),
		SystemCPU:     time.Duration(med(func(u *Usage) int64 { return int64(u.SystemCPU) })),
		MaxRSS:        med(func(u *Usage) int64 { return u.MaxRSS }),
		BlocksIn:      med(func(u *Usage) int64 { return u.BlocksIn }),
		BlocksOut:     med(func(u *Usage) int64 { return u.BlocksOut }),
		VolSwitches:   med(func(u *Usage) int64 { return u.VolSwitches }),
		InvolSwitches: med(func(u *Usage) int64 { return u.InvolSwitches }),
	}
}

// median is the middle of v (the lower middle for an even count, so it
// is always a value that occurred); 0 for none. It sorts a copy.
func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// usageStatsJSON is a job's usage in job show --json: its latest run's
// and, figure by figure, the median of its latest runs that have one.
type usageStatsJSON struct {
	Last     *usageJSON `json:"last"`
	Median   *usageJSON `json:"median"`
	MedianOf int        `json:"median_of"` // how many runs the median is of
}

// usageStats is the usage of the newest of runs (newest first) that has
// one, and the median of all that have one; nil when none has.
func usageStats(runs []*Run) *usageStatsJSON {
	var us []*Usage
	for _, r := range runs {
		if r.Usage != nil {
			us = append(us, r.Usage)
		}
	}
	if len(us) == 0 {
		return nil
	}
	return &usageStatsJSON{Last: us[0].view(), Median: medianUsage(us).view(), MedianOf: len(us)}
}
