package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMigrationScriptApplies adds a migration with ./migration to a copy of
// the repository, as a developer would, and checks that a troc built from
// it brings a database made by the troc before it up one version.
func TestMigrationScriptApplies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds troc twice")
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	var files []string
	for _, pattern := range []string{"*.go", "go.mod", "go.sum", "schema/*.sql", "migration"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				files = append(files, m)
			}
		}
	}
	copyIntoDir(t, src, ".", files...)
	bin := t.TempDir()
	oldTroc, newTroc := filepath.Join(bin, "troc-old"), filepath.Join(bin, "troc-new")
	buildTroc(t, src, oldTroc)

	res := runMigrationScript(t, src, "add_test_thing")
	want := fmt.Sprintf("%04d_add_test_thing.sql", len(ms)+1)
	created := strings.TrimSpace(res.stdout)
	if res.code != 0 || filepath.Base(created) != want {
		t.Fatalf("./migration add_test_thing: exit %d, stdout %q, want exit 0, a path to %s\n%s", res.code, res.stdout, want, res.stderr)
	}
	f, err := os.OpenFile(created, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("CREATE TABLE test_thing (id INTEGER PRIMARY KEY);\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	buildTroc(t, src, newTroc)

	s := newSandbox(t)
	dbPath := filepath.Join(s.configDir(), "troc.db")
	res = runTrocBinary(t, s, oldTroc, "exec", "--name", "x", "true")
	if res.code != 0 {
		t.Fatalf("old troc: exit %d, want 0\n%s", res.code, res.stderr)
	}
	before := schemaVersionOf(t, dbPath)
	if before != len(ms) {
		t.Fatalf("old troc: user_version = %d, want %d", before, len(ms))
	}

	res = runTrocBinary(t, s, newTroc, "exec", "--name", "x", "true")
	if res.code != 0 {
		t.Fatalf("new troc: exit %d, want 0\n%s", res.code, res.stderr)
	}
	for _, line := range []string{"Applying: " + want, "Applied: " + want + " in "} {
		if !strings.Contains(res.stderr, line) {
			t.Errorf("new troc: stderr lacks %q:\n%s", line, res.stderr)
		}
	}
	if got := strings.Count(res.stderr, "Applying: "); got != 1 {
		t.Errorf("new troc: %d migrations applied, want 1:\n%s", got, res.stderr)
	}
	if got, want := schemaVersionOf(t, dbPath), before+1; got != want {
		t.Errorf("new troc: user_version = %d, want %d", got, want)
	}
	var n int
	err = openRaw(t, dbPath).QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'test_thing'`).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("table test_thing: count %d, err %v; want 1, nil", n, err)
	}
}

// TestMigrationScriptRefuses checks that a wrong command line creates no
// file and exits 2 with one line on stderr.
func TestMigrationScriptRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no name", nil},
		{"two names", []string{"a", "b"}},
		{"empty", []string{""}},
		{"upper case", []string{"Bad"}},
		{"dash", []string{"a-b"}},
		{"path", []string{"../x"}},
		{"dot", []string{"add_x.sql"}},
		{"space", []string{"add x"}},
		{"newline", []string{"add\nx"}},
		{"non-ASCII letter", []string{"café"}},
		{"leading digit", []string{"1_fix"}},
		{"leading underscore", []string{"_fix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newMigrationDir(t, "0001_initial.sql")
			res := runMigrationScript(t, dir, tt.args...)
			if res.code != 2 {
				t.Errorf("exit = %d, want 2", res.code)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
			if got := res.stderr; !strings.HasPrefix(got, "migration: ") || strings.Count(got, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting migration: ", got)
			}
			if got, want := schemaNames(t, dir), []string{"0001_initial.sql"}; !slices.Equal(got, want) {
				t.Errorf("schema/ = %q, want %q", got, want)
			}
		})
	}
}

// TestMigrationScriptNumbers checks the number a new migration gets, and
// that the script refuses rather than touch a file with that number.
func TestMigrationScriptNumbers(t *testing.T) {
	tests := []struct {
		name   string
		schema []string // files already in schema/
		want   string   // the file created, or "" if the script must refuse
	}{
		{"empty", nil, "0001_add_x.sql"},
		{"one", []string{"0001_initial.sql"}, "0002_add_x.sql"},
		{"past 0009, not octal", []string{"0008_a.sql", "0009_b.sql"}, "0010_add_x.sql"},
		{"past 0099", []string{"0099_a.sql"}, "0100_add_x.sql"},
		{"highest, not count", []string{"0001_a.sql", "0003_c.sql"}, "0004_add_x.sql"},
		{"other files", []string{"0001_a.sql", "README", "0007_notes.txt"}, "0002_add_x.sql"},
		{"same name earlier", []string{"0001_add_x.sql"}, "0002_add_x.sql"},
		{"misnamed file with the number", []string{"0001_a.sql", "0002.sql"}, ""},
		{"backup with the number", []string{"0001_a.sql", "0002_b.sql~"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newMigrationDir(t, tt.schema...)
			res := runMigrationScript(t, dir, "add_x")
			wantNames := slices.Clone(tt.schema)
			if tt.want == "" {
				if res.code != 1 || res.stdout != "" || !strings.HasPrefix(res.stderr, "migration: ") {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, no stdout, a migration: error", res.code, res.stdout, res.stderr)
				}
			} else {
				if got, want := res.stdout, filepath.Join(dir, "schema", tt.want)+"\n"; res.code != 0 || got != want {
					t.Errorf("exit %d, stdout %q; want exit 0, %q\n%s", res.code, got, want, res.stderr)
				}
				wantNames = append(wantNames, tt.want)
			}
			slices.Sort(wantNames)
			if got := schemaNames(t, dir); !slices.Equal(got, wantNames) {
				t.Errorf("schema/ = %q, want %q", got, wantNames)
			}
			for _, name := range tt.schema {
				if got := fileContent(t, filepath.Join(dir, "schema", name)); got != name {
					t.Errorf("%s = %q, want it untouched (%q)", name, got, name)
				}
			}
		})
	}
}

// TestMigrationScriptTwice runs the script twice against a copy of the
// repository's schema/: the second file must get the next number and leave
// the first as the developer wrote it.
func TestMigrationScriptTwice(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyIntoDir(t, dir, ".", "migration")
	var names []string
	for _, m := range ms {
		names = append(names, filepath.Join("schema", m.name))
	}
	copyIntoDir(t, dir, ".", names...)

	first := runMigrationScript(t, dir, "add_x")
	if first.code != 0 {
		t.Fatalf("first run: exit %d, want 0\n%s", first.code, first.stderr)
	}
	firstPath := strings.TrimSpace(first.stdout)
	written := fileContent(t, firstPath) + "CREATE TABLE x (id INTEGER PRIMARY KEY);\n"
	if err := os.WriteFile(firstPath, []byte(written), 0o644); err != nil {
		t.Fatal(err)
	}
	second := runMigrationScript(t, dir, "add_x")
	if second.code != 0 {
		t.Fatalf("second run: exit %d, want 0\n%s", second.code, second.stderr)
	}
	for _, c := range []struct {
		res     result
		version int
	}{{first, len(ms) + 1}, {second, len(ms) + 2}} {
		if got, want := filepath.Base(strings.TrimSpace(c.res.stdout)), fmt.Sprintf("%04d_add_x.sql", c.version); got != want {
			t.Errorf("created %s, want %s", got, want)
		}
	}
	if got := fileContent(t, firstPath); got != written {
		t.Errorf("first migration after the second run = %q, want %q", got, written)
	}
	header := fileContent(t, strings.TrimSpace(second.stdout))
	for _, want := range []string{
		fmt.Sprintf("-- Schema version %d: add_x.", len(ms)+2),
		fmt.Sprintf("from schema version %d to %d", len(ms)+1, len(ms)+2),
		"without BEGIN or COMMIT",
		"never edit it",
	} {
		if !strings.Contains(header, want) {
			t.Errorf("new migration lacks %q:\n%s", want, header)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		if !strings.HasPrefix(line, "--") {
			t.Errorf("new migration has a line that is not a comment: %q", line)
		}
	}
}

// newMigrationDir returns a directory holding the migration script and a
// schema/ with the named files, each holding its own name.
func newMigrationDir(t *testing.T, schema ...string) string {
	t.Helper()
	dir := t.TempDir()
	copyIntoDir(t, dir, ".", "migration")
	if err := os.Mkdir(filepath.Join(dir, "schema"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range schema {
		if err := os.WriteFile(filepath.Join(dir, "schema", name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyIntoDir copies the files named, relative to from, to the same
// relative paths under dst, keeping their permissions.
func copyIntoDir(t *testing.T, dst, from string, names ...string) {
	t.Helper()
	for _, name := range names {
		src := filepath.Join(from, name)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// runMigrationScript runs dir/migration with args from another directory,
// as the script must work from anywhere.
func runMigrationScript(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "migration"), args...)
	cmd.Dir = t.TempDir()
	return runResult(t, cmd)
}

// runTrocBinary runs a troc binary other than the test's in sandbox s.
func runTrocBinary(t *testing.T, s *sandbox, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = s.environ()
	cmd.Dir = s.dir
	return runResult(t, cmd)
}

// buildTroc builds the module in dir into the binary out. It runs the go
// on PATH, which go test puts first: the Go that runs the test.
func buildTroc(t *testing.T, dir, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
}

// schemaVersionOf returns the user_version of the database at path.
func schemaVersionOf(t *testing.T, path string) int {
	t.Helper()
	db := openRaw(t, path)
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// schemaNames returns the sorted names of the files in dir/schema.
func schemaNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "schema"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
