package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCrontab = `# m h dom mon dow command
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
MAILTO=ops@example.com

*/5 * * * * troc exec --name 'daily-sync' "rsync -a /src /dst" --notify
30 2 * * mon-fri /usr/local/bin/troc exec -q --name=backup -- /usr/local/sbin/backup --full
@hourly cd /srv && troc exec --name "report.hourly" ./report.sh
0 4 * * * /usr/bin/find /tmp -mtime +7 -delete
CRON_TZ=Europe/Berlin
0 9 * * 1 troc exec --name weekly-mail "mail -s hi ops < /dev/null"
CRON_TZ="America/New_York"
15 6 1 * * troc exec --name monthly true
@reboot troc exec --name at-boot true
61 * * * * troc exec --name bad-minute true
* * * * * troc exec "no name given"
* * * * * troc exec --name 'unterminated
0 0 * * * troc exec --name backup -- /usr/local/sbin/backup --incremental
15 6 1 * * troc exec --name monthly echo again
`

func TestParseCrontab(t *testing.T) {
	entries, skips, err := parseCrontab(strings.NewReader(sampleCrontab), false, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%d %s: %s", e.line, e.job, e.schedule))
	}
	want := []string{
		"6 daily-sync: */5 * * * *",
		"7 backup: 30 2 * * mon-fri",
		"8 report.hourly: @hourly",
		"11 weekly-mail: CRON_TZ=Europe/Berlin 0 9 * * 1",
		"13 monthly: CRON_TZ=America/New_York 15 6 1 * *",
		"18 backup: CRON_TZ=America/New_York 0 0 * * *",
		"19 monthly: CRON_TZ=America/New_York 15 6 1 * *",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = nil
	for _, s := range skips {
		got = append(got, fmt.Sprintf("%d %s", s.line, s.why))
	}
	want = []string{
		`14 job at-boot: schedule "CRON_TZ=America/New_York @reboot": @reboot is not supported: troc has no daemon that sees the host boot, so it cannot tell when such a job is due`,
		`15 job bad-minute: schedule "CRON_TZ=America/New_York 61 * * * *": minute field "61": 61 is out of range 0-59`,
		"16 troc exec without --name",
		"17 cannot read the command: unterminated single quote",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("skips:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A system crontab has a user field: only the lines of the user
	// importing are taken.
	entries, skips, _ = parseCrontab(strings.NewReader("17 * * * * root troc exec --name sys true\n"+
		"18 * * * * alice troc exec --name hers true\n"), true, "root")
	if len(entries) != 1 || entries[0].job != "sys" || entries[0].schedule != "17 * * * *" {
		t.Errorf("system crontab: %+v, want one entry: sys at \"17 * * * *\"", entries)
	}
	if len(skips) != 1 || skips[0].line != 2 || skips[0].user != "alice" {
		t.Errorf("system crontab's skips = %+v, want line 2, alice's", skips)
	}
}

// TestImportSystemCrontab: importing a file of /etc/cron.d takes the
// lines of the user running the import only; the others are reported as
// skipped, naming their user, in the text and the JSON.
func TestImportSystemCrontab(t *testing.T) {
	s := newSandbox(t)
	me := currentUser()
	file := filepath.Join(s.dir, "cron.d-troc")
	writeFile(t, file, "SHELL=/bin/sh\n"+
		"*/5 * * * * "+me+" troc exec --name mine true\n"+
		"0 3 * * * nobody troc exec --name theirs true\n"+
		"0 4 * * * alice troc exec --name hers true\n")
	res := s.mustTroc(0, "job", "import-crontab", "--system", file)
	for _, want := range []string{
		"added      mine: */5 * * * * (line 2; new job)\n",
		"skipped    line 3: job theirs runs as nobody, not " + me + ": it records into nobody's history (import it as nobody)\n",
		"skipped    line 4: job hers runs as alice, not " + me + ": it records into alice's history (import it as alice)\n",
		file + ": 1 troc jobs, 1 changed, 0 unchanged, 2 lines skipped\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	for _, name := range []string{"theirs", "hers"} {
		if r := s.troc("job", "show", "--name", name); r.code != 1 {
			t.Errorf("job show %s: exit %d, want 1: another user's job was imported", name, r.code)
		}
	}
	// Their health is none of this history's business: check is happy.
	s.mustTroc(0, "check")

	var v importJSON
	jsonOf(t, s.mustTroc(0, "job", "import-crontab", "--system", "--json", file), &v)
	if v.Source != file || v.DryRun || v.Found != 1 || v.Changed != 0 || v.Unchanged != 1 || len(v.Jobs) != 1 ||
		v.Jobs[0] != (importJobJSON{Job: "mine", Line: 2, Schedule: "*/5 * * * *", Action: "unchanged"}) {
		t.Errorf("--json = %+v, want source %s, 1 found, 1 unchanged: mine, line 2, \"*/5 * * * *\"", v, file)
	}
	if len(v.Skipped) != 2 || deref(v.Skipped[0].User) != "nobody" || v.Skipped[0].Line != 3 || deref(v.Skipped[1].User) != "alice" {
		t.Errorf("--json skipped = %+v, want lines 3 (nobody) and 4 (alice)", v.Skipped)
	}
	// A dry run says what it would do.
	writeFile(t, file, "1 * * * * "+me+" troc exec --name mine true\n0 0 * * * "+me+" troc exec --name more true\n")
	jsonOf(t, s.mustTroc(0, "job", "import-crontab", "--system", "--dry-run", "--json", file), &v)
	if !v.DryRun || v.Changed != 2 || len(v.Jobs) != 2 || v.Jobs[0].Action != "scheduled" || deref(v.Jobs[0].Was) != "*/5 * * * *" ||
		v.Jobs[1].Action != "added" || v.Jobs[1].Was != nil || len(v.Skipped) != 0 {
		t.Errorf("--dry-run --json = %+v, want a dry run of 2 changes: scheduled (was \"*/5 * * * *\"), then added; nothing skipped", v)
	}
}

func TestImportCrontab(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "daily-sync", "--schedule", "*/5 * * * *")
	s.mustTroc(0, "job", "add", "--name", "monthly", "--schedule", "@monthly")
	file := filepath.Join(s.dir, "crontab")
	os.WriteFile(file, []byte(sampleCrontab), 0o600)

	res := s.mustTroc(0, "job", "import-crontab", "--dry-run", file)
	if !strings.Contains(res.stdout, "would add  report.hourly: @hourly (line 8; new job)\n") ||
		!strings.HasSuffix(res.stdout, file+": 5 troc jobs, 3 to change, 1 unchanged, 5 lines skipped\n") {
		t.Errorf("dry run:\n%s\nwant %q and a last line %q", res.stdout, "would add  report.hourly: @hourly (line 8; new job)\n", file+": 5 troc jobs, 3 to change, 1 unchanged, 5 lines skipped\n")
	}
	if res := s.troc("job", "show", "--name", "report.hourly"); res.code != 1 {
		t.Error("--dry-run added a job")
	}

	res = s.mustTroc(0, "job", "import-crontab", file)
	for _, want := range []string{
		"unchanged  daily-sync: */5 * * * * (line 6)\n",
		"added      report.hourly: @hourly (line 8; new job)\n",
		"added      weekly-mail: CRON_TZ=Europe/Berlin 0 9 * * 1 (line 11; new job)\n",
		"scheduled  monthly: CRON_TZ=America/New_York 15 6 1 * * (line 13; was @monthly)\n",
		"skipped    line 18: job backup is also scheduled on line 7 (30 2 * * mon-fri): a job has one schedule\n",
		file + ": 5 troc jobs, 3 changed, 1 unchanged, 5 lines skipped\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	// backup's two lines disagree: the import leaves it alone.
	if res := s.troc("job", "show", "--name", "backup"); res.code != 1 {
		t.Error("backup was added despite its two schedules")
	}
	if v := s.jobOf("weekly-mail"); v.Schedule == nil || *v.Schedule != "CRON_TZ=Europe/Berlin 0 9 * * 1" {
		t.Errorf("weekly-mail's schedule = %q, want %q", deref(v.Schedule), "CRON_TZ=Europe/Berlin 0 9 * * 1")
	}

	// From stdin, and from crontab -l by default.
	cmd := s.command("job", "import-crontab", "-")
	cmd.Stdin = strings.NewReader("0 3 * * * troc exec --name from-stdin true\n")
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "added      from-stdin: 0 3 * * *") {
		t.Errorf("stdin: %v\n%s\nwant it to contain %q", err, out, "added      from-stdin: 0 3 * * *")
	}
	bin := filepath.Join(s.dir, "bin")
	os.Mkdir(bin, 0o700)
	os.WriteFile(filepath.Join(bin, "crontab"), []byte("#!/bin/sh\n[ \"$1\" = -l ] && echo '@daily troc exec --name from-crontab true'\n"), 0o700)
	s.env = append(s.env, "PATH="+bin+":"+os.Getenv("PATH"))
	if res := s.mustTroc(0, "job", "import-crontab"); !strings.Contains(res.stdout, "added      from-crontab: @daily") ||
		!strings.Contains(res.stdout, "crontab -l: 1 troc jobs") {
		t.Errorf("crontab -l:\n%s\nwant %q and %q", res.stdout, "added      from-crontab: @daily", "crontab -l: 1 troc jobs")
	}
	os.WriteFile(filepath.Join(bin, "crontab"), []byte("#!/bin/sh\necho 'no crontab for root' >&2; exit 1\n"), 0o700)
	if res := s.troc("job", "import-crontab"); res.code != 1 || !strings.Contains(res.stderr, "troc: crontab -l: no crontab for root") {
		t.Errorf("no crontab: exit, stderr = %d, %q; want 1, it to contain %q", res.code, res.stderr, "troc: crontab -l: no crontab for root")
	}
	if res := s.troc("job", "import-crontab", "a", "b"); res.code != 2 {
		t.Errorf("two files: exit = %d, want 2", res.code)
	}
}
