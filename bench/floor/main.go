// Command floor is what bench/exec.sh measures troc exec against: the least
// a Go wrapper that records its job in SQLite can cost. It links
// modernc.org/sqlite, as troc does, opens a one-table WAL database, inserts
// a Running row, runs the job with its output to a file, waits for it and
// updates the row with its end. Unless asked (the musts build, below): no
// lock, no config, no signals; never a pipe or a spool. troc's overhead
// beyond this program's is what those cost.
//
//	floor -db FILE -log FILE COMMAND   # runs /bin/sh -c COMMAND
//	floor -db FILE -logdir DIR COMMAND # its output to a new file in DIR
//	floor COMMAND                      # no database: Go and SQLite's start only
//
// Built with -tags musts (and troc's nethttpomithttp2), and run with
// -logdir, -config, -lock, -syslog and -signals, it is instead the least
// any troc must cost beside that: what troc's fixed shape and its promises
// oblige it to do whatever its design, and nothing else. net/http is linked
// (webhooks), a config file is read, a lock file is opened and flocked,
// each run makes two new files (the job's log and troc's system log, as the
// original's users know them), and the three signals that ask a program to
// stop are caught and forwarded to the job. bench/exec.sh prints troc's
// ratio to it beside its ratio to the floor.
//
// -log truncates the same file each time, as the issue that asked for the
// floor describes it; -logdir makes a new file each run, as a wrapper that
// keeps every run's output must (troc makes two: the log and its own). It
// exits, as troc does, without closing the database, and with the job's
// exit status.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	dbPath := flag.String("db", "", "the database `FILE`; none: run the job and nothing else")
	logPath := flag.String("log", os.DevNull, "the job's output `FILE`")
	logDir := flag.String("logdir", "", "the job's output to a new file in `DIR`")
	config := flag.String("config", "", "read the config `FILE` first")
	lock := flag.String("lock", "", "flock the `FILE` for the run")
	syslog := flag.Bool("syslog", false, "make a system log beside the job's (with -logdir)")
	signals := flag.Bool("signals", false, "catch SIGTERM, SIGINT and SIGHUP and forward them to the job")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-db FILE] [-log FILE | -logdir DIR] COMMAND")
		os.Exit(2)
	}
	var sigs chan os.Signal
	if *signals {
		sigs = make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	}
	if *config != "" {
		_, err := os.ReadFile(*config)
		check(err)
	}
	var db *sql.DB
	var id int64
	if *dbPath != "" {
		var err error
		db, err = sql.Open("sqlite", "file:"+*dbPath+
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		check(err)
		db.SetMaxOpenConns(1)
		_, err = db.Exec(`CREATE TABLE IF NOT EXISTS runs (
			id INTEGER PRIMARY KEY, status TEXT NOT NULL, start_ms INTEGER NOT NULL,
			end_ms INTEGER, exit_code INTEGER)`)
		check(err)
		check(db.QueryRow(`INSERT INTO runs (status, start_ms) VALUES ('Running', ?) RETURNING id`,
			time.Now().UnixMilli()).Scan(&id))
	}
	if *lock != "" {
		f, err := os.OpenFile(*lock, os.O_RDWR|os.O_CREATE, 0o600)
		check(err)
		check(syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
		held = f // held until the exit: a collected *os.File closes, and unlocks
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if *logDir != "" {
		stamp := fmt.Sprintf("%d.%d", time.Now().UnixNano(), os.Getpid())
		*logPath = *logDir + "/floor." + stamp + ".log"
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if *syslog {
			f, err := os.OpenFile(*logDir+"/floorsys."+stamp+".log", flags, 0o600)
			check(err)
			_, err = f.WriteString("Logging to " + *logPath + "\n")
			check(err)
		}
	}
	out, err := os.OpenFile(*logPath, flags, 0o600)
	check(err)
	pid, err := syscall.ForkExec("/bin/sh", []string{"/bin/sh", "-c", flag.Arg(0)}, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, out.Fd(), out.Fd()},
	})
	check(err)
	if sigs != nil {
		go func() {
			for s := range sigs {
				syscall.Kill(pid, s.(syscall.Signal))
			}
		}()
	}
	var ws syscall.WaitStatus
	_, err = syscall.Wait4(pid, &ws, 0, nil)
	check(err)
	if db != nil {
		status := "Succeeded"
		if ws.ExitStatus() != 0 {
			status = "Failed"
		}
		_, err = db.Exec(`UPDATE runs SET status = ?, end_ms = ?, exit_code = ? WHERE id = ?`,
			status, time.Now().UnixMilli(), ws.ExitStatus(), id)
		check(err)
	}
	os.Exit(ws.ExitStatus())
}

// held is the lock's file, kept from the garbage collector.
var held *os.File

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
