package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client. Validate checks it; New applies the defaults
// listed on each field.
type Config struct {
	// BaseURL is the admin API's root, e.g. http://127.0.0.1:8081
	// (EDGE_ADMIN_URL). Required: http or https, no query.
	BaseURL string
	// Key is the bearer token sent with every request: a workspace API key,
	// or the platform token to create workspaces (EDGE_ADMIN_KEY).
	Key string
	// Timeout bounds one HTTP exchange. Default 30s.
	Timeout time.Duration
	// Retries is how many times a request answered 429, or a GET answered
	// 503, is tried again after the server's Retry-After (at most
	// maxRetryWait). Default 3; negative disables retries.
	Retries int
}

// maxRetryWait caps how long the client honours one Retry-After.
const maxRetryWait = 5 * time.Second

// maxResponseBytes bounds a response body the client reads.
const maxResponseBytes = 32 << 20

// Validate reports the first unusable field of c.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return usage("server %q: must be an http:// or https:// URL such as http://127.0.0.1:8081", c.BaseURL)
	}
	if c.Timeout < 0 {
		return usage("timeout must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// Client is a typed client of the admin REST API. It is safe for
// concurrent use.
type Client struct {
	cfg   Config
	http  *http.Client
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a new one with
// Config.Timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a Client for cfg.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{cfg: cfg, sleep: sleepCtx}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: cfg.Timeout}
	}
	return c, nil
}

// WithKey returns a copy of c that sends key instead.
func (c *Client) WithKey(key string) *Client {
	cp := *c
	cp.cfg.Key = key
	return &cp
}

// request is one API call.
type request struct {
	method string
	// path is already escaped (see pathOf).
	path   string
	query  url.Values
	header http.Header
	body   any
	// out receives the decoded JSON body of a 2xx answer (nil: discard).
	out any
}

// do runs r, retrying what may be retried, and maps error answers to
// *APIError.
func (c *Client) do(ctx context.Context, r request) error {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", r.method, r.path, err)
		}
		body = b
	}
	for attempt := 0; ; attempt++ {
		wait, err := c.once(ctx, r, body)
		if wait < 0 || attempt >= c.cfg.Retries {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// once sends r once. A non-negative wait says the error may be retried
// after that long.
func (c *Client) once(ctx context.Context, r request, body []byte) (time.Duration, error) {
	u := c.cfg.BaseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return -1, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return -1, fmt.Errorf("%s %s: %w: %v", r.method, r.path, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return -1, fmt.Errorf("%s %s: read answer: %w: %v", r.method, r.path, ErrUnavailable, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.out == nil || len(bytes.TrimSpace(data)) == 0 {
			return -1, nil
		}
		if err := json.Unmarshal(data, r.out); err != nil {
			return -1, fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
		}
		return -1, nil
	}
	apiErr := decodeAPIError(r.method, r.path, resp.StatusCode, data)
	return retryWait(r.method, resp), apiErr
}

// retryWait says whether and after how long an error answer may be
// retried: a 429 always (the request was not handled), a 503 only for a
// GET (a write may have happened).
func retryWait(method string, resp *http.Response) time.Duration {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
	case resp.StatusCode == http.StatusServiceUnavailable && method == http.MethodGet:
	default:
		return -1
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 0 {
		secs = 1
	}
	return min(time.Duration(secs)*time.Second, maxRetryWait)
}

// errorEnvelope is the API's error body.
type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func decodeAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Field = env.Error.Code, env.Error.Message, env.Error.Field
		return e
	}
	// Not the API's envelope (a proxy, a crash): show a bounded excerpt.
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pathOf joins escaped path segments under /v1. '+' is escaped too, so a
// phone number survives any proxy's form decoding.
func pathOf(segments ...string) string {
	var b strings.Builder
	b.WriteString("/v1")
	for _, s := range segments {
		b.WriteString("/")
		b.WriteString(strings.ReplaceAll(url.PathEscape(s), "+", "%2B"))
	}
	return b.String()
}

// page is the shape of every list answer.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// listAll follows a list's cursors from cursor until it ends or max items
// were read (max <= 0: all).
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values, cursor string, max int) ([]T, string, error) {
	var out []T
	for {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if max > 0 {
			q.Set("limit", strconv.Itoa(min(max-len(out), 1000)))
		}
		var p page[T]
		if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, out: &p}); err != nil {
			return nil, "", err
		}
		out = append(out, p.Items...)
		cursor = p.NextCursor
		if cursor == "" || (max > 0 && len(out) >= max) || len(p.Items) == 0 {
			return out, cursor, nil
		}
	}
}
