package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParseConfig checks that the parser never panics, that its errors
// and those of applying what it read are one-line *configErrors naming the
// file, and that what it read, written out again, reads the same.
func FuzzParseConfig(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/config/*.yaml")
	for _, input := range inputs {
		data, err := os.ReadFile(input)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(defaultConfigFile())
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "/etc/troc/config.yaml"
		settings, err := parseConfig(path, data)
		if err != nil {
			checkConfigError(t, err, "config "+path+":")
			return
		}
		c, l, err := newConfig(path, testEnv(goldenEnv))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.applyFile(c, settings); err != nil {
			checkConfigError(t, err, "config "+path+":")
		}

		again, err := parseConfig(path, []byte(renderSettings(settings)))
		if err != nil {
			t.Fatalf("rendered settings do not parse: %v\n%s", err, renderSettings(settings))
		}
		if got, want := stripLines(again), stripLines(settings); !slices.Equal(got, want) {
			t.Errorf("round trip:\ngot  %+v\nwant %+v", got, want)
		}
	})
}
