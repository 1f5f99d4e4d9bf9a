package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// FuzzDecodeBody feeds arbitrary bodies and content types to the body
// decoder of every body shape: it never panics and every failure maps to a
// client error status (400, 413, 415 or 422).
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"number":"+15551230001","service_id":"svc"}`, `{"id":"+1555","number":"+1556"}`, `{`, `null`, `[]`,
		`{"speed":"fast"}`, `{"limits":{"max_cps":1}}`, `{"settings":{"timezone":1}}`, `{"a":1} {}`, `"\u0000"`,
		`{"name":"P","monitor_concepts":[{"concept":1}]}`, `{"blocked_topics":"x","action":"block"}`, `{"type":"a.b","data":[{}]}`,
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Add(`{}`, "application/merge-patch+json; charset=utf-8")
	targets := []func() any{
		func() any { return new(phoneNumberBody) }, func() any { return new(workspacePatch) },
		func() any { return new(newWorkspaceBody) }, func() any { return new(tenancy.VoiceSettings) },
		func() any { return new(tenancy.Service) }, func() any { return new(promotionBody) },
		func() any { return new(tenancy.SafetyPolicy) }, func() any { return new(newEventBody) },
	}
	f.Fuzz(func(t *testing.T, body, contentType string) {
		for _, target := range targets {
			for _, optional := range []bool{false, true} {
				r := httptest.NewRequest("POST", "/", strings.NewReader(body))
				r.Header.Set("Content-Type", contentType)
				err := decodeBody(httptest.NewRecorder(), r, target(), optional)
				if err == nil {
					continue
				}
				switch s := toAPIError(err).Status; s {
				case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
				default:
					t.Fatalf("body %q (%s): status %d for %v", body, contentType, s, err)
				}
			}
		}
	})
}

// FuzzAuthorization feeds arbitrary Authorization headers: only the exact
// platform token is the platform; nothing panics.
func FuzzAuthorization(f *testing.F) {
	s := &Server{cfg: Config{BootstrapToken: testPlatformToken}}
	for _, seed := range []string{"Bearer " + testPlatformToken, "bearer  " + testPlatformToken + " ", "Basic x", "Bearer", "", "Bearer " + testPlatformToken + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if strings.Contains(header, "edk_") {
			return // an API key is looked up in the store, tested elsewhere
		}
		p, err := s.principal(httptest.NewRequest("GET", "/", nil), header)
		if err != nil {
			return
		}
		_, token, _ := strings.Cut(strings.TrimSpace(header), " ")
		if !p.Platform || strings.TrimSpace(token) != testPlatformToken {
			t.Fatalf("header %q authenticated as %+v", header, p)
		}
	})
}
