package main

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// TestRunJSONByHand: Run.writeJSON, written out by hand, prints exactly
// what encoding/json prints for the same view (writeJSON): with every
// field unset, with every field set to a value of its own (found by
// reflection, so that a field added to runJSON or usageJSON and not to
// appendJSON fails here, and so does one written from the wrong field),
// and with strings and numbers that need escaping or an exponent.
func TestRunJSONByHand(t *testing.T) {
	check := func(what string, v runJSON) {
		t.Helper()
		var want bytes.Buffer
		if err := writeJSON(&want, v); err != nil {
			t.Fatal(err)
		}
		if got := v.appendJSON(nil); string(got) != want.String() {
			t.Errorf("%s: by hand\n%s\nencoding/json\n%s", what, got, want.String())
		}
	}
	check("nothing set", runJSON{})

	var full runJSON
	fillAll(reflect.ValueOf(&full).Elem(), "a \"b\" \\ <&> é \u2028\u2029 \x00\x1f\x7f\b\f\n\r\t \xff\xfe \ufffd 日本")
	check("everything set", full)
	if full.Resources == nil || full.Attempt == nil || !full.Retried {
		t.Fatal("fillAll left fields unset")
	}

	for _, f := range []float64{0, 0.001, 1.097, 1234567.25, 1e-7, 2.5e-9, 1e21, 3e22, 123456789012345680000} {
		v := runJSON{Resources: &usageJSON{UserCPUMS: f, SystemCPUMS: -f}}
		check("float", v)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const pieces = "\"\\\n\x01\xe2\x80\xa8" // of escapes, and U+2028's bytes
	for i := range 2000 {
		b := make([]byte, rng.IntN(12))
		for j := range b {
			b[j] = byte(rng.IntN(256))
			if rng.IntN(3) == 0 {
				b[j] = pieces[rng.IntN(len(pieces))]
			}
		}
		s := string(b)
		v := runJSON{Job: s, Command: s, Host: s, Note: &s, Lock: &s}
		if i%2 == 0 {
			v.Environment = &s
		}
		check("random string", v)
	}
}

// fillAll sets every field v holds, through pointers and structs, to a
// value that is not its zero and differs from every other field's:
// strings to s and a number, numbers to 7 on, booleans to true.
func fillAll(v reflect.Value, s string) {
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.String:
			v.SetString(s + strconv.Itoa(n))
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(6 + n))
		case reflect.Float64:
			v.SetFloat(float64(n) + 0.125)
		case reflect.Bool:
			v.SetBool(true)
		default:
			panic("fillAll: no value for " + v.Type().String())
		}
	}
	fill(v)
}
