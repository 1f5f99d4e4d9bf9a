package tenancy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestCallToken issues tokens as the edge does and checks them as the
// control plane does: valid while the call lasts and 60 s after, never
// stored in the clear, refused when forged, ended, lapsed or of a deleted
// workspace.
func TestCallToken(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	r := tenancytest.StartRedis(t)
	s := r.Store(t, tenancy.WithClock(func() time.Time { return now }))
	a, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	admit := func(id string) (tenancy.CallRecord, string) {
		t.Helper()
		rec := tenancy.CallRecord{ID: id, WorkspaceID: a.ID, ServiceID: "front-desk", From: "+13125550199", To: "+13125550110", State: tenancy.CallRinging, StartedAt: now}
		if err := s.AdmitCall(ctx, rec, tenancy.Limits{}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueCallToken(ctx, a.ID, id, "front-desk", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return rec, tok
	}
	rec, tok := admit("call_one")
	if !strings.HasPrefix(tok, a.ID+".") || !tenancy.IsCallToken(tok) {
		t.Fatalf("token form %q", tok)
	}
	keys, _ := r.Client(t).Keys(ctx, "*").Result()
	for _, k := range keys {
		v, _ := r.Client(t).Dump(ctx, k).Result()
		if strings.Contains(k, tok) || strings.Contains(v, tok[len(a.ID)+1:]) {
			t.Fatalf("the token is stored in the clear under %s", k)
		}
	}
	p, err := s.AuthenticateCallToken(ctx, tok)
	if err != nil || !p.Agent || p.WorkspaceID != a.ID || p.CallID != "call_one" || p.ServiceID != "front-desk" || p.Role != "" {
		t.Fatalf("principal %+v %v", p, err)
	}
	forged := tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok, "A")]
	b, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	tests := []struct {
		name  string
		token string
	}{
		{"forged", forged},
		{"other workspace prefix", b.ID + tok[len(a.ID):]},
		{"malformed", "ws_abc.short"},
		{"an api key", "edk_" + strings.Repeat("a", 52)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.AuthenticateCallToken(ctx, tc.token); !errors.Is(err, tenancy.ErrUnauthenticated) {
				t.Fatalf("got %v, want unauthenticated", err)
			}
		})
	}
	t.Run("ended: grace, then refused", func(t *testing.T) {
		ended := now
		rec.State, rec.EndedAt = tenancy.CallEnded, &ended
		if err := s.EndCall(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.EndCallToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ttl, _ := r.Client(t).TTL(ctx, "{ws:"+a.ID+"}:calltoken:"+tenancy.HashKey(tok)).Result()
		if ttl <= 0 || ttl > tenancy.CallTokenGrace {
			t.Fatalf("ttl after the end: %v", ttl)
		}
		now = ended.Add(59 * time.Second)
		if _, err := s.AuthenticateCallToken(ctx, tok); err != nil {
			t.Fatalf("within the grace: %v", err)
		}
		now = ended.Add(61 * time.Second)
		if _, err := s.AuthenticateCallToken(ctx, tok); !errors.Is(err, tenancy.ErrUnauthenticated) {
			t.Fatalf("after the grace: %v", err)
		}
	})
	t.Run("lease lapsed: refused after the grace", func(t *testing.T) {
		_, tok2 := admit("call_two")
		now = now.Add(30*time.Second + 61*time.Second)
		if _, err := s.AuthenticateCallToken(ctx, tok2); !errors.Is(err, tenancy.ErrUnauthenticated) {
			t.Fatalf("lapsed lease: %v", err)
		}
	})
	t.Run("deleted workspace", func(t *testing.T) {
		_, tok3 := admit("call_three")
		if err := s.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateCallToken(ctx, tok3); !errors.Is(err, tenancy.ErrUnauthenticated) {
			t.Fatalf("deleted workspace: %v", err)
		}
	})
}
