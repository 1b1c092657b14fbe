// Command floor is what bench/exec.sh measures troc exec against: the least
// a Go wrapper that records its job in SQLite can cost. It links
// modernc.org/sqlite, as troc does, opens a one-table WAL database, inserts
// a Running row, runs the job with its output to a file, waits for it and
// updates the row with its end. No lock, no pipe, no config, no signals, no
// spool: troc's overhead beyond this program's is what those cost.
//
//	floor -db FILE -log FILE COMMAND   # runs /bin/sh -c COMMAND
//	floor -db FILE -logdir DIR COMMAND # its output to a new file in DIR
//	floor COMMAND                      # no database: Go and SQLite's start only
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
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	dbPath := flag.String("db", "", "the database `FILE`; none: run the job and nothing else")
	logPath := flag.String("log", os.DevNull, "the job's output `FILE`")
	logDir := flag.String("logdir", "", "the job's output to a new file in `DIR`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-db FILE] [-log FILE] COMMAND")
		os.Exit(2)
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
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if *logDir != "" {
		*logPath = fmt.Sprintf("%s/floor.%d.%d.log", *logDir, time.Now().UnixNano(), os.Getpid())
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	out, err := os.OpenFile(*logPath, flags, 0o600)
	check(err)
	pid, err := syscall.ForkExec("/bin/sh", []string{"/bin/sh", "-c", flag.Arg(0)}, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, out.Fd(), out.Fd()},
	})
	check(err)
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

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
