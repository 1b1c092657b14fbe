package main

// The output formats of troc run list and troc job list, spelled as the
// original troc spelled them (-f, --format): pretty, the table people
// read; json, the same as --json; csv and tsv, the table's columns for a
// spreadsheet or awk, with a header line and plain text (no colour, no
// emoji).

import (
	"encoding/csv"
	"flag"
	"io"
	"strings"
)

// outputFormat is how a list is written.
type outputFormat string

const (
	formatPretty outputFormat = "pretty"
	formatJSON   outputFormat = "json"
	formatCSV    outputFormat = "csv"
	formatTSV    outputFormat = "tsv"
)

// formatFlag defines --format and its short form -f on fs.
func formatFlag(fs *flag.FlagSet) *string {
	f := fs.String("format", string(formatPretty), "output `FORMAT`: pretty (a table), json (as --json), csv or tsv")
	fs.StringVar(f, "f", string(formatPretty), "same as --format")
	return f
}

// outputFlags defines --json (printing a JSON array of what) and
// -f/--format on fs, and returns what to call once fs is parsed for the
// format they ask for.
func outputFlags(fs *flag.FlagSet, what string) func() (outputFormat, error) {
	asJSON := fs.Bool("json", false, "print a JSON array of "+what)
	format := formatFlag(fs)
	return func() (outputFormat, error) { return parseFormat(*format, *asJSON) }
}

// parseFormat reads --format's value; --json (asJSON) is --format json
// and wins, so that a command line ending in --json always prints JSON.
func parseFormat(s string, asJSON bool) (outputFormat, error) {
	if asJSON {
		return formatJSON, nil
	}
	switch f := outputFormat(strings.ToLower(s)); f {
	case formatPretty, formatJSON, formatCSV, formatTSV:
		return f, nil
	}
	return "", usagef("invalid --format %q: want pretty, json, csv or tsv", s)
}

// forFormat returns d set up to write tables in format f: csv and tsv
// carry the text alone.
func (d display) forFormat(f outputFormat) display {
	if f == formatCSV || f == formatTSV {
		d.format, d.color, d.emoji = f, false, false
	}
	return d
}

// writeTable writes rows under a header in d's format: a table, or CSV
// or TSV lines.
func (d display) writeTable(w io.Writer, header []string, rows [][]cell) error {
	if d.format != formatCSV && d.format != formatTSV {
		return writeTable(w, header, rows)
	}
	records := make([][]string, 0, len(rows)+1)
	records = append(records, header)
	for _, row := range rows {
		rec := make([]string, len(row))
		for i, c := range row {
			rec[i] = c.text
		}
		records = append(records, rec)
	}
	if d.format == formatCSV {
		// RFC 4180: fields with commas, quotes or line breaks quoted.
		cw := csv.NewWriter(w)
		cw.UseCRLF = false
		cw.WriteAll(records)
		return cw.Error()
	}
	var b strings.Builder
	for _, rec := range records {
		for i, f := range rec {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(tsvEscape.Replace(f))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tsvEscape keeps every TSV field on its line and in its column.
var tsvEscape = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
