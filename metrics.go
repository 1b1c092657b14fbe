package main

// Prometheus metrics, in the text exposition format (version 0.0.4), for
// node_exporter's textfile collector or anything else that reads it. The
// rules, and why:
//
//   - Every value is a gauge of the job's current state, or a counter from
//     the jobs table's tallies, which only grow (pruning old runs does not
//     lower them), so rate() and increase() work on them.
//   - A state (the last run's status, the job's health) is one series per
//     possible value, 1 for the current one and 0 for the others, so that
//     a change of state is a change of value and not a series that
//     vanishes: alerts on == 1 resolve, and absent() is never needed.
//   - A sample that would be made up is left out instead: no end time,
//     duration or exit code for a run that has none, no last success for a
//     job that never succeeded.
//   - Times are seconds since the epoch and durations seconds, as floats
//     with troc's millisecond precision: Prometheus's base units.
//   - The output is deterministic (families in a fixed order, jobs by
//     name, label values in a fixed order), so that it can be compared
//     with a golden file and a rewrite that changes nothing changes no
//     byte.
//   - Every sample has a user label, the user whose history it comes
//     from: node_exporter reads every *.prom file of its directory into
//     one exposition, and two users' files with the same series would
//     clash (it drops one file's series without a word). With the user,
//     no two histories' series are the same.
//   - The textfile is replaced with a rename, never written in place:
//     node_exporter reads it at any moment, and two troc processes may
//     write it at the same moment. See writeTextfile.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metricsJobLabel is the label that names the job in every job series;
// metricsUserLabel, in every series, the user whose history it is.
const (
	metricsJobLabel  = "job"
	metricsUserLabel = "user"
)

// metricJob is what the metric families are computed from: a job's state
// and its health at the time of writing.
type metricJob struct {
	*jobState
	health  Health
	suspect string // the kind of anomaly, when suspect
}

// ended reports whether the job has a last run and it has ended.
func (j metricJob) ended() bool { return j.LastRun != nil && !j.LastRun.End.IsZero() }

// lastUsage is what the job's latest run used, once it has ended; nil if
// it did not run (Skipped) or ran before troc recorded usage.
func (j metricJob) lastUsage() *Usage {
	if !j.ended() {
		return nil
	}
	return j.LastRun.Usage
}

// label is one label of a sample, beside the job's name.
type label struct{ name, value string }

// sampleFunc calls add for each sample a family has for a job, if any.
type sampleFunc func(j metricJob, add func(value float64, labels ...label))

// metricFamily is one metric: its name, type, help text, and its samples.
type metricFamily struct {
	name, typ, help string
	samples         sampleFunc
}

// metricFamilies lists the job metrics in the order they are written. Each
// name and help text is a promise: dashboards and alerts use them.
var metricFamilies = []metricFamily{
	{"troc_job_last_run_start_timestamp_seconds", "gauge", "When the job's latest run started, in seconds since the epoch.",
		func(j metricJob, add func(float64, ...label)) {
			if j.LastRun != nil {
				add(seconds(j.LastRun.Start))
			}
		}},
	{"troc_job_last_run_end_timestamp_seconds", "gauge", "When the job's latest run ended, in seconds since the epoch; absent while it runs.",
		func(j metricJob, add func(float64, ...label)) {
			if j.ended() {
				add(seconds(j.LastRun.End))
			}
		}},
	{"troc_job_last_run_duration_seconds", "gauge", "How long the job's latest run took, in seconds; absent while it runs.",
		func(j metricJob, add func(float64, ...label)) {
			if j.ended() {
				add(float64(j.LastRun.End.Sub(j.LastRun.Start).Milliseconds()) / 1000)
			}
		}},
	{"troc_job_last_run_exit_code", "gauge", "Exit code of the job's latest run; absent unless the command exited by itself.",
		func(j metricJob, add func(float64, ...label)) {
			if j.LastRun != nil && j.LastRun.ExitCode != nil {
				add(float64(*j.LastRun.ExitCode))
			}
		}},
	{"troc_job_last_run_cpu_seconds", "gauge", "CPU time the job's latest run used (it and the descendants it waited for), by mode; absent while it runs or if it did not run.",
		func(j metricJob, add func(float64, ...label)) {
			if u := j.lastUsage(); u != nil {
				add(u.UserCPU.Seconds(), label{"mode", "user"})
				add(u.SystemCPU.Seconds(), label{"mode", "system"})
			}
		}},
	{"troc_job_last_run_max_rss_bytes", "gauge", "Peak resident memory of the largest process of the job's latest run, in bytes.",
		func(j metricJob, add func(float64, ...label)) {
			if u := j.lastUsage(); u != nil {
				add(float64(u.MaxRSS))
			}
		}},
	{"troc_job_last_run_blocks", "gauge", "File system blocks the job's latest run read (in) and wrote (out).",
		func(j metricJob, add func(float64, ...label)) {
			if u := j.lastUsage(); u != nil {
				add(float64(u.BlocksIn), label{"direction", "in"})
				add(float64(u.BlocksOut), label{"direction", "out"})
			}
		}},
	{"troc_job_last_run_context_switches", "gauge", "Context switches of the job's latest run, voluntary and involuntary.",
		func(j metricJob, add func(float64, ...label)) {
			if u := j.lastUsage(); u != nil {
				add(float64(u.VolSwitches), label{"kind", "voluntary"})
				add(float64(u.InvolSwitches), label{"kind", "involuntary"})
			}
		}},
	{"troc_job_last_run_status", "gauge", "Status of the job's latest run: 1 for its status, 0 for the others.",
		func(j metricJob, add func(float64, ...label)) {
			if j.LastRun != nil {
				for _, s := range Statuses {
					add(oneIf(j.LastRun.Status == s), label{"status", string(s)})
				}
			}
		}},
	{"troc_job_last_success_timestamp_seconds", "gauge", "When the job's latest successful run ended, in seconds since the epoch; absent if it never succeeded.",
		func(j metricJob, add func(float64, ...label)) {
			if !j.LastSuccess.IsZero() {
				add(seconds(j.LastSuccess))
			}
		}},
	{"troc_job_running", "gauge", "Whether the job has a run in progress: 1 or 0.",
		func(j metricJob, add func(float64, ...label)) {
			add(oneIf(!j.RunningSince.IsZero()))
		}},
	{"troc_job_health", "gauge", "The job's health as troc check reports it: 1 for its health, 0 for the others.",
		func(j metricJob, add func(float64, ...label)) {
			for _, h := range Healths {
				add(oneIf(j.health == h), label{"health", string(h)})
			}
		}},
	{"troc_job_paused", "gauge", "Whether the job is paused (troc job pause): 1 or 0.",
		func(j metricJob, add func(float64, ...label)) {
			add(oneIf(j.health == HealthPaused))
		}},
	{"troc_job_suspect", "gauge", "Why troc check finds the job suspect: 1 for the kind of anomaly (short, long, no_output, too_often), 0 for the others; absent unless it is suspect.",
		func(j metricJob, add func(float64, ...label)) {
			if j.health == HealthSuspect {
				for _, k := range suspectKinds {
					add(oneIf(j.suspect == k), label{"reason", k})
				}
			}
		}},
	{"troc_job_runs_total", "counter", "Runs of the job that ended, by status, since the job was created.",
		func(j metricJob, add func(float64, ...label)) {
			for _, s := range finalStatuses {
				add(float64(j.Counts[s]), label{"status", string(s)})
			}
		}},
}

// writeMetrics writes the metrics of every job in states, the history of
// user, to w, in the Prometheus text format, version 0.0.4. health gives a
// job's health at now, the time the metrics describe, which is written as
// troc_metrics_generated_timestamp_seconds so that stale metrics can be
// told from current ones. Every sample is labelled with user. It writes
// to w once, at the end, and refuses two states of one name, which would
// duplicate series.
func writeMetrics(w io.Writer, user string, states []*jobState, health func(*jobState) healthReport, now time.Time) error {
	jobs := make([]metricJob, len(states))
	for i := range states {
		jobs[i] = metricJob{jobState: states[i]}
	}
	slices.SortFunc(jobs, func(a, b metricJob) int { return cmp.Compare(a.Name, b.Name) })
	for i := range jobs {
		if i > 0 && jobs[i].Name == jobs[i-1].Name {
			return fmt.Errorf("metrics: job %q listed twice", jobs[i].Name)
		}
		rep := health(jobs[i].jobState)
		jobs[i].health, jobs[i].suspect = rep.Health, rep.Kind
	}

	// A family's samples go to fb first: its HELP and TYPE lines come
	// before them, and only when it has any. Everything is appended to
	// the buffers directly: a thousand jobs make tens of thousands of
	// samples. Values are the shortest decimal that reads back as the
	// value, never with an exponent ('f', -1), so that 1700000000.123
	// does not become 1.700000000123e+09.
	userLabel := metricsUserLabel + `="` + escapeLabelValue(user) + `"`
	var b, fb bytes.Buffer
	fb.WriteString("troc_metrics_generated_timestamp_seconds{" + userLabel + "} ")
	fb.Write(strconv.AppendFloat(fb.AvailableBuffer(), seconds(now), 'f', -1, 64))
	fb.WriteByte('\n')
	writeFamily(&b, "troc_metrics_generated_timestamp_seconds", "gauge",
		"When troc wrote these metrics, in seconds since the epoch: troc_job_health is as of then.", &fb)
	for _, f := range metricFamilies {
		for _, j := range jobs {
			name := escapeLabelValue(j.Name)
			f.samples(j, func(value float64, labels ...label) {
				fb.WriteString(f.name)
				fb.WriteString("{" + metricsJobLabel + `="`)
				fb.WriteString(name)
				fb.WriteString(`",`)
				fb.WriteString(userLabel)
				for _, lb := range labels {
					fb.WriteByte(',')
					fb.WriteString(lb.name)
					fb.WriteString(`="`)
					fb.WriteString(escapeLabelValue(lb.value))
					fb.WriteByte('"')
				}
				fb.WriteString("} ")
				fb.Write(strconv.AppendFloat(fb.AvailableBuffer(), value, 'f', -1, 64))
				fb.WriteByte('\n')
			})
		}
		writeFamily(&b, f.name, f.typ, f.help, &fb)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeFamily writes a family's HELP and TYPE lines and then its samples,
// taken from samples (which it empties), or nothing when it has no
// samples: a family without any says nothing.
func writeFamily(b *bytes.Buffer, name, typ, help string, samples *bytes.Buffer) {
	if samples.Len() == 0 {
		return
	}
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
	b.Write(samples.Bytes())
	samples.Reset()
}

// seconds is t in seconds since the epoch, to the millisecond.
func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// escapeLabelValue escapes a label value for the text format: backslash,
// double quote and line feed are the characters it must escape.
func escapeLabelValue(s string) string { return labelEscaper.Replace(s) }

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// escapeHelp escapes a HELP text: backslash and line feed only.
func escapeHelp(s string) string { return helpEscaper.Replace(s) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// writeTextfile replaces the file at path with what write writes, for
// node_exporter's textfile collector, which reads every *.prom file in its
// directory at each scrape. The content goes to a new temp file in the same
// directory, named with a leading dot and without the .prom suffix so the
// collector never reads it half written; it is synced and renamed over
// path, so a reader sees the old file or the new one, whole. Processes
// writing at the same time each use their own temp file, and the last
// rename wins. The file is made mode 0644 whatever the umask: metrics hold
// no secret, and node_exporter usually runs as a user of its own that must
// read them. The temp file is removed if anything fails. A path without
// the .prom suffix is refused, since the collector would ignore it.
func writeTextfile(path string, write func(io.Writer) error) (err error) {
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("metrics.textfile %q: want a file name ending in .prom, as node_exporter's textfile collector reads no other", path)
	}
	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(filepath.Clean(cmp.Or(dir, ".")), "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write metrics to %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// Sync before the rename, or a crash could leave the new name on an
	// empty file.
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeMetricsFile rewrites the metrics.textfile, if one is configured,
// from states (read again when nil). A failure is logged: metrics never
// fail a run or a check.
func (h *history) writeMetricsFile(ctx context.Context, states []*jobState) {
	writeMetricsFileFor(ctx, h.db, h.cfg, states, h.now(), h.log)
}

// writeMetricsFileFor rewrites cfg's metrics.textfile, if it names one,
// with the metrics of every job. states are the jobs' states when the
// caller has them; nil reads them. Failures are logged, never returned.
func writeMetricsFileFor(ctx context.Context, db *DB, cfg *Config, states []*jobState, now time.Time, log *slog.Logger) {
	path := cfg.Metrics.Textfile
	if path == "" || db == nil {
		return
	}
	if states == nil {
		var err error
		if states, err = db.jobStates(ctx, "", time.Time{}); err != nil {
			log.Warn("Metrics not written: " + err.Error())
			return
		}
	}
	err := writeTextfile(path, func(w io.Writer) error { return renderMetrics(w, states, now) })
	if err != nil {
		log.Warn("Metrics not written: " + err.Error())
	}
}

// renderMetrics writes the metrics of states, this user's history, each
// with its health at now.
func renderMetrics(w io.Writer, states []*jobState, now time.Time) error {
	return writeMetrics(w, currentUser(), states, func(s *jobState) healthReport { return s.health(now) }, now)
}

// metricsCmd is troc metrics: the Prometheus text format on stdout.
func metricsCmd(fs *flag.FlagSet) runFunc {
	return func(a *app, ctx context.Context, args []string) error {
		h, err := a.openHistoryArgs(ctx, fs, args)
		if err != nil {
			return err
		}
		now := h.now()
		states, err := h.db.jobStates(ctx, "", time.Time{})
		if err != nil {
			return fmt.Errorf("read jobs: %w", err)
		}
		return renderMetrics(a.stdout, states, now)
	}
}
