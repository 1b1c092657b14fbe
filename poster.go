package main

// The one place where troc makes HTTP requests for notifications: with a
// deadline and retries (maxAttempts, doubling, Retry-After honoured), a
// private CA if the config names one, and every error masked of the
// secrets before it leaves (redact.go). It quotes no response body but a
// known API's error code.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxAttempts is how often a channel tries to deliver one notification.
const maxAttempts = 3

// retryableError is a failure that another attempt may not have: a
// network error, HTTP 429 or 5xx. after is how long the server asked us
// to wait (Retry-After); 0: the usual backoff.
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }

func (e *retryableError) Unwrap() error { return e.err }

// poster makes the notifications' network requests. post is the one place
// where HTTP requests are made, so the one place that redacts their
// errors; the SMTP channel's retry redacts its own with the same secrets.
type poster struct {
	client  *http.Client
	backoff time.Duration // the wait before the second attempt; doubled for each one after
	secrets secretTexts   // masked in every error
}

// loadCAs returns the system's trusted certificates with those of the
// PEM file path added (with SSL_CERT_FILE set, the system's are that
// file's). Its errors name the setting key.
func loadCAs(key, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", key, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", key, path)
	}
	return pool, nil
}

// trustCAs makes p trust the CA certificates of notify.ca_file besides
// the system's for its HTTPS requests.
func (p *poster) trustCAs(path string) error {
	pool, err := loadCAs("notify.ca_file", path)
	if err != nil {
		return err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	p.client.Transport = t
	return nil
}

// newPoster returns a poster whose errors never show secrets.
func newPoster(secrets secretTexts) *poster {
	return &poster{
		secrets: secrets,
		client: &http.Client{
			// A redirect would take the body, secrets and all, elsewhere:
			// the response is taken as it is, and fails as a 3xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		backoff: 500 * time.Millisecond,
	}
}

// retry calls attempt until it succeeds, fails for good, or maxAttempts
// tries or ctx run out. Only a *retryableError is tried again.
func (p *poster) retry(ctx context.Context, attempt func(ctx context.Context) error) error {
	wait := p.backoff
	for try := 1; ; try++ {
		err := attempt(ctx)
		var re *retryableError
		if err == nil || !errors.As(err, &re) {
			return err
		}
		if try == maxAttempts {
			return fmt.Errorf("%w (%d attempts)", err, try)
		}
		d := wait
		if re.after > 0 {
			d = re.after
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return fmt.Errorf("%w (no time left for attempt %d after %s)", err, try+1, d)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (no time left for attempt %d)", err, try+1)
		case <-t.C:
		}
		wait *= 2
	}
}

// post sends body to u and hands each response to check, which returns
// nil when the notification is delivered. It retries network errors,
// HTTP 429 (after its Retry-After) and 5xx. Its errors name the method
// and the host, never the rest of the URL (a webhook's path is its
// secret), and are masked of every secret before they are returned.
func (p *poster) post(ctx context.Context, u *url.URL, header http.Header, body []byte, check func(resp *http.Response, body []byte) error) error {
	where := "POST " + u.Host
	return p.retry(ctx, func(ctx context.Context) error {
		return p.secrets.scrub(p.postOnce(ctx, u, where, header, body, check))
	})
}

// postOnce is one attempt of post.
func (p *poster) postOnce(ctx context.Context, u *url.URL, where string, header http.Header, body []byte, check func(resp *http.Response, body []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: cannot make the request", where)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "troc/"+version)
	resp, err := p.client.Do(req)
	if err != nil {
		// *url.Error's message holds the whole URL: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: timed out", where)
		}
		return &retryableError{err: fmt.Errorf("%s: %v", where, err)}
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, 64<<10)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: timed out reading the response", where)
	}
	if err := check(resp, b); err != nil {
		var se *statusError
		if errors.As(err, &se) {
			err = se.classify()
		}
		var re *retryableError
		if errors.As(err, &re) {
			return &retryableError{err: fmt.Errorf("%s: %w", where, re.err), after: re.after}
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// statusError is an HTTP response that did not deliver the notification.
type statusError struct {
	code       int
	retryAfter time.Duration
	detail     string // an error code of the API the server speaks, or what a redirect means; never its words
}

func (e *statusError) Error() string {
	s := "HTTP " + strconv.Itoa(e.code)
	if t := http.StatusText(e.code); t != "" {
		s += " " + t
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

// classify returns e, wrapped as retryable when another attempt may
// succeed.
func (e *statusError) classify() error {
	if e.code == http.StatusTooManyRequests || e.code == http.StatusRequestTimeout || e.code >= 500 {
		return &retryableError{err: e, after: e.retryAfter}
	}
	return e
}

// checkStatus accepts any 2xx response.
func checkStatus(resp *http.Response, body []byte) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return newStatusError(resp)
}

// newStatusError describes a response that failed by its status line,
// with the server's Retry-After (seconds or a date). It quotes nothing of
// the body: a server that echoes the request would quote its secrets.
func newStatusError(resp *http.Response) *statusError {
	e := &statusError{code: resp.StatusCode}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.retryAfter = time.Until(t)
		}
		e.retryAfter = max(e.retryAfter, time.Millisecond)
	}
	if resp.StatusCode/100 == 3 {
		e.detail = "redirected; give the final URL"
	}
	return e
}

// readLimited reads r to its end, keeping at most n bytes.
func readLimited(r io.Reader, n int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, n))
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(r, 1<<20)) // so the connection can be reused
	}
	return b, err
}

// excerpt returns the start of b on one line, at most 200 characters:
// for what a program printed, once masked (a response body is never
// quoted).
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "..."
	}
	return s
}
