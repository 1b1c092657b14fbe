package main

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestIsBusy holds a real SQLite write lock and checks that the error a
// second writer gets is the one setWAL retries on, and that others are not.
func TestIsBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, other := open(), open()
	if _, err := holder.Exec(`CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	_, err := other.Exec(`PRAGMA journal_mode = WAL`)
	if err == nil {
		err = errors.New("no error")
	}
	if !isBusy(err) {
		t.Errorf("isBusy(%v) = false, want true", err)
	}
	mem, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := mem.Exec(`SELECT * FROM nowhere`); err == nil || isBusy(err) {
		t.Errorf("isBusy(%v) = true, want false", err)
	}
	if isBusy(errors.New("database is locked")) {
		t.Error("isBusy trusts an error's text")
	}
}
