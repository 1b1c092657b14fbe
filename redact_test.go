package main

import (
	"encoding/base64"
	"html"
	"net/url"
	"strings"
	"testing"
)

// TestRedactForms: each secret is masked in every form a server may give
// it back in.
func TestRedactForms(t *testing.T) {
	const (
		token = "xoxb-Tok3n/+Secret"
		path  = "PathSecret0123"
		pw    = "p@ss:w/rd Secret"
		query = "Q+uery/Secret=1&2"
		hdr   = "HeaderSecret42"
		smtp  = "SmtpSecret99"
	)
	u := url.URL{Scheme: "https", Host: "hooks.example.com", Path: "/services/T1/" + path,
		User: url.UserPassword("alice", pw), RawQuery: "token=" + url.QueryEscape(query)}
	cfg := notifyConfig(t, map[string]string{
		"notify.slack.token":         token,
		"notify.webhook.url":         u.String(),
		"notify.webhook.headers":     "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+hdr)) + "; X-Key: " + hdr,
		"notify.email.smtp.user":     "troc",
		"notify.email.smtp.password": smtp,
	})
	secrets := notifySecrets(&cfg.Notify)
	for _, tc := range []struct{ name, text string }{
		{"token", token},
		{"token path-escaped", url.PathEscape(token)},
		{"token query-escaped", url.QueryEscape(token)},
		{"token lower-case hex", strings.ToLower(url.QueryEscape(token))},
		{"token HTML-escaped", html.EscapeString("<" + token + ">")},
		{"the whole URL", u.String()},
		{"path", u.Path},
		{"escaped path", u.EscapedPath()},
		{"path segment", path},
		{"query", u.RawQuery},
		{"query value", query},
		{"query value escaped", url.QueryEscape(query)},
		{"password", pw},
		{"password escaped", url.PathEscape(pw)},
		{"user information", u.User.String()},
		{"Basic authorization of the URL", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pw))},
		{"header's Basic credentials", base64.StdEncoding.EncodeToString([]byte("bob:" + hdr))},
		{"header value", hdr},
		{"SMTP password", smtp},
		{"AUTH PLAIN", base64.StdEncoding.EncodeToString([]byte("\x00troc\x00" + smtp))},
		{"AUTH LOGIN", base64.StdEncoding.EncodeToString([]byte(smtp))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := secrets.redact("said: " + tc.text + " (end)")
			if got != "said: [secret] (end)" && !(tc.name == "token HTML-escaped" && got == "said: &lt;[secret]&gt; (end)") &&
				!(strings.HasPrefix(tc.name, "Basic") && got == "said: Basic [secret] (end)") {
				t.Errorf("redact(%q) = %q, want the secret masked whole", tc.text, got)
			}
		})
	}
	if got := secrets.redact("POST hooks.example.com: HTTP 404 Not Found"); got != "POST hooks.example.com: HTTP 404 Not Found" {
		t.Errorf("redact changed text without secrets: %q", got)
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"channel_not_found", "channel_not_found"},
		{"no_service\n", "no_service"},
		{"invalid_auth", "invalid_auth"},
		{"", ""},
		{"Not Found", ""},
		{"<html>no</html>", ""},
		{"xoxb-1234-secret", ""},
		{"bad [secret]", ""},
		{strings.Repeat("a", 65), ""},
	} {
		if got := errorCode(tc.in); got != tc.want {
			t.Errorf("errorCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
