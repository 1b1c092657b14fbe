package main

// A generic webhook: notify.webhook.url receives each notification as a
// JSON POST, the run with the keys troc exec prints plus the
// notification's own (noticeJSON), so any receiver of JSON can take it.
// notify.webhook.headers adds request headers, such as a token.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// webhookChannel posts notices as JSON.
type webhookChannel struct {
	p      *poster
	url    *url.URL
	header http.Header
}

// newWebhookChannel returns the webhook that c describes, nil if it
// describes none, or an error naming the key that is missing or wrong.
func newWebhookChannel(c *NotifyConfig, p *poster) (channel, error) {
	w := c.Webhook
	switch {
	case w.URL == "" && w.Headers == "":
		return nil, nil
	case w.URL == "":
		return nil, fmt.Errorf("notify.webhook.url: missing, needed with notify.webhook.headers")
	}
	u, err := parseHTTPURL("notify.webhook.url", w.URL)
	if err != nil {
		return nil, err
	}
	h, err := parseHeaders(w.Headers)
	if err != nil {
		return nil, fmt.Errorf("notify.webhook.headers: %v", err)
	}
	if h.Get("Content-Type") == "" { // the user's own wins
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	return &webhookChannel{p: p, url: u, header: h}, nil
}

// parseHeaders parses "Name: value; Name2: value2". Its errors say which
// entry is wrong but never quote it: it may hold a token.
func parseHeaders(s string) (http.Header, error) {
	h := http.Header{}
	if strings.TrimSpace(s) == "" {
		return h, nil
	}
	for i, entry := range strings.Split(s, ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf(`entry %d: want "Name: value"`, i+1)
		case !validHeaderName(name):
			return nil, fmt.Errorf("entry %d: invalid header name", i+1)
		case strings.ContainsAny(value, "\r\n\x00"):
			return nil, fmt.Errorf("entry %d: invalid character in the value", i+1)
		}
		h.Add(name, value)
	}
	return h, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

func (w *webhookChannel) name() string { return "webhook" }

func (w *webhookChannel) send(ctx context.Context, m *notice) error {
	body, err := marshalNotice(m)
	if err != nil {
		return err
	}
	return w.p.post(ctx, w.url, w.header, body, checkStatus)
}

// marshalNotice returns m as the webhook and the command receive it.
func marshalNotice(m *notice) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // commands are full of & and >
	if err := enc.Encode(m.jsonView()); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
