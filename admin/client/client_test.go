package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/admin"
	"github.com/voiceedge/edge/tenancy"
)

func TestAPIErrorMatchesItsSentinel(t *testing.T) {
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{400, "bad_request", ErrInvalid},
		{401, "unauthenticated", ErrUnauthenticated},
		{403, "forbidden", ErrForbidden},
		{404, "not_found", ErrNotFound},
		{409, "conflict", ErrConflict},
		{409, "promotion_required", ErrPromotionRequired},
		{413, "payload_too_large", ErrTooLarge},
		{422, "invalid", ErrInvalid},
		{429, "rate_limited", ErrRateLimited},
		{503, "unavailable", ErrUnavailable},
		{500, "internal", ErrServer},
	}
	all := []error{ErrInvalid, ErrUnauthenticated, ErrForbidden, ErrNotFound, ErrConflict, ErrPromotionRequired, ErrTooLarge, ErrRateLimited, ErrUnavailable, ErrServer}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			err := error(&APIError{Method: "GET", Path: "/v1/x", Status: tc.status, Code: tc.code})
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tc.want) {
					t.Errorf("errors.Is(%d %s, %v) = %v", tc.status, tc.code, s, got)
				}
			}
		})
	}
	t.Run("message", func(t *testing.T) {
		e := &APIError{Method: "PUT", Path: "/v1/workspaces/ws_a/voice-settings", Status: 422, Code: "invalid", Message: "speed: must be between 0.5 and 2.0", Field: "speed"}
		if got, want := e.Error(), "PUT /v1/workspaces/ws_a/voice-settings: 422 invalid: speed: must be between 0.5 and 2.0"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

func TestClientAgainstTheServer(t *testing.T) {
	api := newTestAPI(t)
	ws := api.newWorkspace(t, tenancy.EnvDevelopment)
	ctx := context.Background()

	t.Run("a validation error carries status, code and field", func(t *testing.T) {
		err := ws.c.PutItem(ctx, ws.id, tenancy.KindVoiceSettings, &tenancy.VoiceSettings{Speed: 9})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 422 || ae.Code != "invalid" || ae.Field != "speed" || !strings.Contains(ae.Message, "speed") {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("phone numbers travel escaped", func(t *testing.T) {
		if err := ws.c.PutItem(ctx, ws.id, tenancy.KindService, &tenancy.Service{ID: "a", Name: "A", Target: "sip:a@127.0.0.2"}); err != nil {
			t.Fatal(err)
		}
		if err := ws.c.PutItem(ctx, ws.id, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+13125550150", ServiceID: "a"}); err != nil {
			t.Fatal(err)
		}
		it, err := ws.c.Item(ctx, ws.id, tenancy.KindNumber, "+13125550150")
		if err != nil || it.(*tenancy.PhoneNumber).ServiceID != "a" {
			t.Fatalf("number %+v (%v)", it, err)
		}
		if err := ws.c.DeleteItem(ctx, ws.id, tenancy.KindNumber, "+13125550150"); err != nil {
			t.Fatal(err)
		}
		if err := ws.c.DeleteItem(ctx, ws.id, tenancy.KindVoiceSettings, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("deleting a singleton: %v", err)
		}
	})
	t.Run("unreachable server", func(t *testing.T) {
		c := newTestClient(t, "http://127.0.0.1:1", ws.key)
		if _, err := c.Workspace(ctx, ws.id); !errors.Is(err, ErrUnavailable) {
			t.Errorf("err = %v, want ErrUnavailable", err)
		}
	})
}

func TestClientRetriesRateLimits(t *testing.T) {
	api := newTestAPI(t, func(c *admin.Config) { c.KeyRate, c.KeyBurst = 2, 1 })
	ws := api.newWorkspace(t, tenancy.EnvDevelopment)
	ctx := context.Background()
	start := time.Now()
	for i := range 3 {
		if _, err := ws.c.Workspace(ctx, ws.id); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("three requests at 2/s with burst 1 took %v: no 429 was retried", time.Since(start))
	}
	noRetry, err := New(Config{BaseURL: api.url, Key: ws.key, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var limited error
	for range 3 {
		if _, err := noRetry.Workspace(ctx, ws.id); err != nil {
			limited = err
		}
	}
	if !errors.Is(limited, ErrRateLimited) {
		t.Errorf("without retries: %v, want ErrRateLimited", limited)
	}
}

func TestClientNonAPIAnswer(t *testing.T) {
	// A proxy in front of the API answering with its own page.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>Bad Gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	c := newTestClient(t, proxy.URL, "k")
	_, err := c.Workspace(context.Background(), "ws_abcd")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 502 || !strings.Contains(ae.Message, "Bad Gateway") || !errors.Is(err, ErrServer) {
		t.Errorf("err = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"http", Config{BaseURL: "http://127.0.0.1:8081"}, true},
		{"https with path", Config{BaseURL: "https://admin.example/edge/"}, true},
		{"no scheme", Config{BaseURL: "127.0.0.1:8081"}, false},
		{"other scheme", Config{BaseURL: "ftp://x"}, false},
		{"query", Config{BaseURL: "http://x/?a=b"}, false},
		{"negative timeout", Config{BaseURL: "http://x", Timeout: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("New(%+v) = %v", tc.cfg, err)
			}
		})
	}
}
