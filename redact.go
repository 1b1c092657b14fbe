package main

// Redaction keeps the notification secrets (the Slack token and webhook
// URL, the webhook's URL and headers, the ping URL, the SMTP password)
// out of everything troc writes: errors, logs, the history, the spool.
// The rules, and why:
//
//   - Secrets are masked where requests are made (poster.post, the SMTP
//     conversation, runProgram for sendmail and the command), before any
//     text is cut or quoted: a secret cut in two is no longer found.
//   - A secret is looked for in every form a server or a program may
//     give it back: as it is, URL-escaped (path and query forms, in either
//     case of hex digits), HTML-escaped; a URL's path, its long path
//     segments, its query values and its user information on their own;
//     the base64 of user:password that Go sends as Basic authorization
//     for a URL's user information, of a header's Basic credentials, and
//     of SMTP's AUTH PLAIN and LOGIN.
//   - No response body is quoted but a known API's error code (Slack's
//     channel_not_found), and only when it has the shape of one: a server
//     that echoes the request (a stock 404 page quoting the path, a JSON
//     error repeating the query) has its words dropped, not masked.

import (
	"encoding/base64"
	"errors"
	"html"
	"net/url"
	"slices"
	"strings"
)

// secretTexts are the texts that redact masks: every form in which the
// configuration's secrets can appear, longest first.
type secretTexts []string

// minSecret is the shortest text redact masks: shorter ones would mask
// ordinary words.
const minSecret = 4

// notifySecrets returns every form of every secret of c (see the rules
// above).
func notifySecrets(c *NotifyConfig) secretTexts {
	var out []string
	add := func(texts ...string) {
		for _, s := range texts {
			out = append(out, s, url.PathEscape(s), url.QueryEscape(s), html.EscapeString(s))
		}
	}
	for _, k := range configKeys {
		if !k.secret || !strings.HasPrefix(k.name, "notify.") {
			continue
		}
		s, _ := k.ref.get(&Config{Notify: *c}).(string)
		if s == "" {
			continue
		}
		add(s)
		add(urlSecrets(s)...)
		if k.name == "notify.webhook.headers" {
			for _, h := range strings.Split(s, ";") {
				if _, v, ok := strings.Cut(h, ":"); ok {
					add(headerSecrets(strings.TrimSpace(v))...)
				}
			}
		}
	}
	if s := c.Email.SMTP; s.Password != "" {
		add(base64.StdEncoding.EncodeToString([]byte("\x00"+s.User+"\x00"+s.Password)), // AUTH PLAIN
			base64.StdEncoding.EncodeToString([]byte(s.Password)), // AUTH LOGIN
			base64.StdEncoding.EncodeToString([]byte(s.User+":"+s.Password)))
	}
	out = slices.DeleteFunc(out, func(s string) bool { return len(s) < minSecret })
	// Longest first, so that a secret's parts do not break it up before
	// it is masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}

// urlSecrets returns the parts of the URL s that can appear on their
// own: its path, its long path segments, its query and each of its
// values, its fragment, its user information and the Basic authorization
// Go makes of it. Nothing for a text that is not a URL with a host.
func urlSecrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil
	}
	out := []string{u.Path, u.EscapedPath(), u.RawQuery, u.Fragment, u.EscapedFragment()}
	for _, p := range []string{u.Path, u.EscapedPath()} {
		for _, seg := range strings.Split(p, "/") {
			if len(seg) >= 8 {
				out = append(out, seg)
			}
		}
	}
	for _, pair := range strings.Split(u.RawQuery, "&") {
		_, v, _ := strings.Cut(pair, "=")
		out = append(out, v)
		if d, err := url.QueryUnescape(v); err == nil {
			out = append(out, d)
		}
	}
	if u.User != nil {
		name := u.User.Username()
		pw, _ := u.User.Password()
		out = append(out, u.User.String(), name, pw, name+":"+pw,
			base64.StdEncoding.EncodeToString([]byte(name+":"+pw))) // net/http's Basic authorization
	}
	return out
}

// headerSecrets returns the parts of a header's value that can appear on
// their own: the credentials after an authorization scheme ("Bearer T"),
// and for Basic ones, what their base64 says and the password in it.
func headerSecrets(v string) []string {
	out := []string{v}
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok {
		return out
	}
	cred = strings.TrimSpace(cred)
	out = append(out, cred)
	if strings.EqualFold(scheme, "Basic") {
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			_, pw, _ := strings.Cut(string(b), ":")
			out = append(out, string(b), pw)
		}
	}
	return out
}

// redact replaces every secret in text with "[secret]", ignoring case
// (a server may write %2f for %2F).
func (secrets secretTexts) redact(text string) string {
	for _, sec := range secrets {
		if len(sec) > len(text) {
			continue
		}
		var b strings.Builder
		last := 0
		for i := 0; i+len(sec) <= len(text); {
			if strings.EqualFold(text[i:i+len(sec)], sec) {
				b.WriteString(text[last:i])
				b.WriteString("[secret]")
				i += len(sec)
				last = i
				continue
			}
			i++
		}
		if last > 0 {
			b.WriteString(text[last:])
			text = b.String()
		}
	}
	return text
}

// scrub returns err with its message redacted, still retryable if it
// was; nil for nil.
func (secrets secretTexts) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := errors.New(secrets.redact(err.Error()))
	var re *retryableError
	if errors.As(err, &re) {
		return &retryableError{err: msg, after: re.after}
	}
	return msg
}

// errorCode returns s when it has the shape of an API's error code
// (channel_not_found, invalid_auth: lower-case letters, digits and
// underscores, at most 64), else "". Only such a code of a response is
// ever quoted.
func errorCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '_') {
			return ""
		}
	}
	return s
}
