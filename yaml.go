package main

// The config file's syntax: a small, strict subset of YAML, read by hand.
// Nested maps of scalars, indented with spaces; # comments; plain, single-
// and double-quoted scalars. Anything else (tabs, lists, anchors, tags,
// block scalars, several documents) is refused with the file and line
// rather than half understood, and nothing here turns "no" into false: the
// values stay text, which config.go converts by each key's kind. A library
// would accept more than troc can check, and add a dependency. The writer
// half (yamlScalar, yamlQuote) is what the generated config file uses.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// setting is one key read from a config file: a scalar, or a map whose
// keys follow it in the list.
type setting struct {
	key   string // dotted: notify.slack.token
	value string // without quotes or escapes; "" for a map
	isMap bool
	line  int
}

// parseConfig parses data, the contents of the config file at path, into
// its settings in file order, each map before its keys. It checks the
// syntax only; applyFile checks the keys and values. Errors name the file
// and the line, and never quote a value: it may be a secret.
func parseConfig(path string, data []byte) ([]setting, error) {
	type level struct {
		indent int
		prefix string // the map's dotted key and a dot; "" at the top
	}
	var (
		settings []setting
		levels   = []level{{indent: 0}}
		seen     = map[string]int{} // dotted key: line of first use
		open     = -1               // index of a "key:" setting that may start a map
		started  bool               // a key was seen: "---" would start a second document
	)
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		fail := func(format string, args ...any) error {
			return configErrorf("config %s:%d: %s", path, n, fmt.Sprintf(format, args...))
		}
		line = strings.TrimSuffix(line, "\r")
		body := strings.TrimLeft(line, " \t")
		if body == "" || body[0] == '#' {
			continue
		}
		indent := len(line) - len(body)
		if strings.Contains(line[:indent], "\t") {
			return nil, fail("tab in indentation")
		}
		if indent == 0 && (body == "---" || strings.HasPrefix(body, "--- ") || strings.HasPrefix(body, "---\t")) {
			if started {
				return nil, fail("a second document (---) is not supported")
			}
			if _, present, _ := parseValue(body[3:]); present {
				return nil, fail("text after ---")
			}
			started = true
			continue
		}
		started = true

		if open >= 0 {
			if top := levels[len(levels)-1]; indent > top.indent {
				settings[open].isMap = true
				levels = append(levels, level{indent: indent, prefix: settings[open].key + "."})
			}
			open = -1
		}
		if indent > levels[len(levels)-1].indent {
			return nil, fail(`unexpected indentation (only a "key:" with nothing after it starts a nested map)`)
		}
		for indent < levels[len(levels)-1].indent {
			levels = levels[:len(levels)-1]
		}
		if indent != levels[len(levels)-1].indent {
			return nil, fail("indentation matches no enclosing level")
		}

		key, rest, msg := splitKey(body)
		if msg != "" {
			return nil, fail("%s", msg)
		}
		key = levels[len(levels)-1].prefix + key
		if first, ok := seen[key]; ok {
			return nil, fail("duplicate key %q (first on line %d)", key, first)
		}
		seen[key] = n
		value, present, msg := parseValue(rest)
		if msg != "" {
			return nil, fail("%s", msg)
		}
		settings = append(settings, setting{key: key, value: value, line: n})
		if !present {
			open = len(settings) - 1
		}
	}
	return settings, nil
}

// splitKey splits "key: rest" into the key and what follows the colon, or
// returns why the line is not a key.
func splitKey(body string) (key, rest, msg string) {
	if msg := indicator(body); msg != "" {
		return "", "", msg
	}
	if body[0] == '"' || body[0] == '\'' {
		return "", "", "quoted keys are not supported"
	}
	colon := -1
	for i := 0; i < len(body) && colon < 0; i++ {
		if body[i] == ':' && (i+1 == len(body) || body[i+1] == ' ' || body[i+1] == '\t') {
			colon = i
		}
	}
	if colon < 0 {
		return "", "", `want "key: value"`
	}
	key = strings.TrimRight(body[:colon], " \t")
	switch {
	case key == "":
		return "", "", `missing key before ":"`
	case strings.Contains(key, ".") && validKey(strings.ReplaceAll(key, ".", "")):
		return "", "", fmt.Sprintf("dotted key %q: nest it with indentation instead", key)
	case !validKey(key):
		return "", "", fmt.Sprintf("invalid key %q (use letters, digits, _ and -)", key)
	}
	return key, body[colon+1:], ""
}

func validKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isLetter(c) && !isDigit(c) && c != '_' && c != '-' {
			return false
		}
	}
	return key != ""
}

// indicator says why s, the start of a key or a value, is YAML this parser
// does not support, or returns "".
func indicator(s string) string {
	spaceAfter := len(s) == 1 || s[1] == ' ' || s[1] == '\t'
	switch s[0] {
	case '-':
		if spaceAfter {
			return "lists are not supported"
		}
	case '?':
		if spaceAfter {
			return "complex keys are not supported"
		}
	case '[':
		return "flow lists ([...]) are not supported"
	case '{':
		return "flow maps ({...}) are not supported"
	case '&':
		return "anchors (&) are not supported"
	case '*':
		return "aliases (*) are not supported"
	case '!':
		return "tags (!) are not supported"
	case '|', '>':
		return "block scalars (| and >) are not supported"
	case '%', '@', '`', ',', ']', '}':
		return fmt.Sprintf("%q is reserved at the start of a value (quote the value)", s[:1])
	}
	return ""
}

// parseValue parses what follows a key's colon: nothing or a comment
// (present is false), a quoted or a plain scalar.
func parseValue(rest string) (value string, present bool, msg string) {
	s := strings.TrimLeft(rest, " \t")
	if s == "" || s[0] == '#' {
		return "", false, ""
	}
	switch s[0] {
	case '"':
		value, msg = parseDoubleQuoted(s)
		return value, true, msg
	case '\'':
		value, msg = parseSingleQuoted(s)
		return value, true, msg
	}
	if msg := indicator(s); msg != "" {
		return "", true, msg
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	s = strings.TrimRight(s, " \t")
	if strings.Contains(s, ": ") || strings.Contains(s, ":\t") || strings.HasSuffix(s, ":") {
		return "", true, `": " in a plain value (quote the value)`
	}
	return s, true, ""
}

// parseDoubleQuoted parses s, which starts with a double quote, allowing
// the escapes \\ \" \n \t and \uXXXX.
func parseDoubleQuoted(s string) (value, msg string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), afterQuote(s[i+1:])
		case '\\':
			i++
			if i == len(s) {
				return "", "unterminated quote (a value cannot span lines)"
			}
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+5 > len(s) {
					return "", `invalid \u escape (want \u and 4 hex digits, not a surrogate)`
				}
				r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
				if err != nil || utf8.RuneLen(rune(r)) < 0 {
					return "", `invalid \u escape (want \u and 4 hex digits, not a surrogate)`
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				if r, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsPrint(r) {
					return "", fmt.Sprintf(`invalid escape \%c (use \\, \", \n, \t or \uXXXX)`, r)
				}
				return "", `invalid escape (use \\, \", \n, \t or \uXXXX)`
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "unterminated quote (a value cannot span lines)"
}

// parseSingleQuoted parses s, which starts with a single quote; two single
// quotes stand for one.
func parseSingleQuoted(s string) (value, msg string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), afterQuote(s[i+1:])
	}
	return "", "unterminated quote (a value cannot span lines)"
}

// afterQuote checks what follows a closing quote: nothing, or a comment.
func afterQuote(rest string) string {
	trimmed := strings.TrimLeft(rest, " \t")
	if trimmed == "" || trimmed[0] == '#' && len(trimmed) < len(rest) {
		return ""
	}
	return "text after closing quote"
}

// yamlScalar returns s as a YAML value that parseValue reads back as s:
// plain when that is safe, double-quoted otherwise.
func yamlScalar(s string) string {
	if s != "" && indicator(s) == "" && !strings.ContainsAny(s, "#:\"'\\") && strings.TrimSpace(s) == s &&
		strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	return yamlQuote(s)
}

// yamlQuote returns s double-quoted with the escapes parseDoubleQuoted
// reads. It works on bytes so that any string, valid UTF-8 or not, reads
// back unchanged.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
