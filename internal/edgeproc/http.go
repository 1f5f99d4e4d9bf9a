package edgeproc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// WaitHTTP waits until url answers 200.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not 200 within %v (%v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Readiness is the edge's internal /readyz.
type Readiness struct {
	Ready       bool `json:"ready"`
	Degraded    bool `json:"degraded"`
	ActiveCalls int  `json:"active_calls"`
	Routing     struct {
		Ready      bool `json:"ready"`
		Degraded   bool `json:"degraded"`
		Numbers    int  `json:"numbers"`
		Workspaces int  `json:"workspaces"`
	} `json:"routing"`
	Raw json.RawMessage `json:"-"`
}

// ReadinessOf reads the internal /readyz of the edge whose metrics
// listener is at metricsAddr; ok is false when it did not answer.
func ReadinessOf(metricsAddr string) (r Readiness, status int, ok bool) {
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + metricsAddr + "/readyz")
	if err != nil {
		return r, 0, false
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if json.NewDecoder(resp.Body).Decode(&raw) != nil {
		return r, resp.StatusCode, false
	}
	_ = json.Unmarshal(raw, &r)
	r.Raw = raw
	return r, resp.StatusCode, true
}

// WaitNumbers waits until the edge says ready with at least n numbers in
// its routing map.
func WaitNumbers(t testing.TB, metricsAddr string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, _, ok := ReadinessOf(metricsAddr)
		if ok && r.Ready && r.Routing.Numbers >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge %s without %d numbers within %v: %s", metricsAddr, n, timeout, r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Call sends a JSON request with a bearer token and decodes the answer
// into out; with want non-zero, another status fails t. It returns the
// status (0 when the request did not get through, with want zero).
func Call(t testing.TB, method, url, token string, body any, want int, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		if want != 0 {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		return 0
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

// WaitFor polls cond every 50 ms until it holds, for up to d, or fails t
// naming what it waited for.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
