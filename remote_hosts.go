package main

// The hosts troc --host asks: --host, --hosts FILE and --group NAME on the
// command line, each host checked so that it can never pass for an ssh
// option.

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// remoteTargets is what the command line names as the hosts to ask.
type remoteTargets struct {
	hosts  []string // --host, each [user@]host[:port]
	files  []string // --hosts, each a file of hosts
	groups []string // --group, each a group of the config's remote.groups
}

func (t *remoteTargets) any() bool { return len(t.hosts)+len(t.files)+len(t.groups) > 0 }

// add adds the hosts that more names.
func (t *remoteTargets) add(more remoteTargets) {
	t.hosts = append(t.hosts, more.hosts...)
	t.files = append(t.files, more.files...)
	t.groups = append(t.groups, more.groups...)
}

// takeRemoteFlags takes the --host, --hosts and --group flags off the
// front of a command line and returns the rest.
func takeRemoteFlags(args []string) (remoteTargets, []string, error) {
	var t remoteTargets
	for len(args) > 0 {
		name, value, inline, ok := splitFlag(args[0])
		if !ok {
			break
		}
		var list *[]string
		switch name {
		case "host":
			list = &t.hosts
		case "hosts":
			list = &t.files
		case "group":
			list = &t.groups
		default:
			return t, args, nil
		}
		if !inline {
			if len(args) < 2 {
				return t, nil, usagef("flag needs an argument: --%s", name)
			}
			value, args = args[1], args[1:]
		}
		if value == "" {
			return t, nil, usagef("--%s: empty value", name)
		}
		*list = append(*list, value)
		args = args[1:]
	}
	return t, args, nil
}

// splitFlag reads arg as the flag package reads a flag: -name or --name,
// then "=value" or not. ok is false when arg is no flag: a word, "-",
// "--", or more than two dashes.
func splitFlag(arg string) (name, value string, hasValue, ok bool) {
	rest, ok := strings.CutPrefix(arg, "-")
	if !ok {
		return "", "", false, false
	}
	rest = strings.TrimPrefix(rest, "-")
	name, value, hasValue = strings.Cut(rest, "=")
	return name, value, hasValue, name != "" && name[0] != '-'
}

// remoteHost is one host to ask, as [user@]host[:port].
type remoteHost struct {
	name string // as given: what the HOST column and the host key show
	user string // "": ssh's choice
	addr string // a name (ssh's config may alias it) or an address
	port string // "": ssh's choice
}

// parseHostSpec reads [user@]host[:port], the host being a name or an
// IPv4 address, or an IPv6 address in brackets. Only letters, digits and
// . _ - are accepted in names, and none may start with -, so that a host
// can never pass for one of ssh's options.
func parseHostSpec(spec string) (remoteHost, error) {
	h := remoteHost{name: spec}
	fail := func(why string) (remoteHost, error) {
		return remoteHost{}, fmt.Errorf("invalid host %q: %s; want [user@]host[:port]", spec, why)
	}
	rest := spec
	if user, after, ok := strings.Cut(rest, "@"); ok {
		if !plainWord(user) {
			return fail("bad user name")
		}
		h.user, rest = user, after
	}
	if addr, ok := strings.CutPrefix(rest, "["); ok {
		end := strings.IndexByte(addr, ']')
		if end < 0 || !ipv6Address(addr[:end]) {
			return fail("bad IPv6 address")
		}
		h.addr, rest = addr[:end], addr[end+1:]
	} else {
		h.addr, rest, _ = strings.Cut(rest, ":")
		if !plainWord(h.addr) {
			return fail("bad host name")
		}
		if rest != "" || strings.HasSuffix(spec, ":") {
			rest = ":" + rest
		}
	}
	if rest != "" {
		port, ok := strings.CutPrefix(rest, ":")
		if n, err := strconv.Atoi(port); !ok || err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fail("bad port")
		}
		h.port = port
	}
	return h, nil
}

// plainWord reports whether s is a non-empty run of letters, digits and
// . _ -, not starting with -.
func plainWord(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ipv6Address reports whether s looks like an IPv6 address, with an
// optional %zone: hex digits, colons and dots (for an embedded IPv4).
func ipv6Address(s string) bool {
	addr, zone, hasZone := strings.Cut(s, "%")
	if !strings.Contains(addr, ":") || hasZone && !plainWord(zone) {
		return false
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; !isDigit(c) && !strings.ContainsRune("abcdefABCDEF:.", rune(c)) {
			return false
		}
	}
	return true
}

// resolveHosts returns the hosts the targets name, each once, in the
// order first named: --host, then --hosts files, then --group groups.
func resolveHosts(cfg *Config, t remoteTargets) ([]remoteHost, error) {
	var all []remoteHost
	for _, spec := range t.hosts {
		h, err := parseHostSpec(spec)
		if err != nil {
			return nil, usagef("%v", err)
		}
		all = append(all, h)
	}
	for _, path := range t.files {
		list, err := readHostsFile(path)
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
	for _, g := range t.groups {
		list, ok := cfg.Remote.Groups[g]
		if !ok {
			known := "none is defined"
			if len(cfg.Remote.Groups) > 0 {
				known = "it has " + strings.Join(slices.Sorted(maps.Keys(cfg.Remote.Groups)), ", ")
			}
			return nil, usagef("--group %s: no such group in remote.groups of %s (%s)", g, cfg.Path, known)
		}
		all = append(all, list...)
	}
	var hosts []remoteHost
	seen := map[string]bool{}
	for _, h := range all {
		if !seen[h.name] {
			seen[h.name] = true
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, usagef("no hosts given: the --hosts files hold none")
	}
	return hosts, nil
}

// readHostsFile reads a --hosts file: a host per line; blank lines and
// text from # on are ignored.
func readHostsFile(path string) ([]remoteHost, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--hosts: %v", err)
	}
	var hosts []remoteHost
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) > 1:
			return nil, usagef("--hosts %s:%d: one host per line, got %d", path, i+1, len(fields))
		}
		h, err := parseHostSpec(fields[0])
		if err != nil {
			return nil, usagef("--hosts %s:%d: %v", path, i+1, err)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}
