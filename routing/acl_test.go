package routing_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestEdgeACL runs an edge's Redis work as the README's ACL user
// (tenancy.EdgeACL): the full routing load and the change stream, and every
// call-state write of a call's life. The same user cannot read the
// data-source credentials, write configuration or list keys, and a dump of
// everything in Redis holds neither the trunk password nor the credentials
// in clear.
func TestEdgeACL(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	const trunkPassword, credential = "trunk-password-in-clear-1", "ehr-token-in-clear-2"

	w, owner, err := admin.CreateWorkspace(ctx, tenancy.PlatformPrincipal, tenancy.NewWorkspace{
		Name: "North Clinic", Environment: tenancy.EnvDevelopment, Owner: tenancy.Account{Name: "Owner", Email: "o@north.example"}})
	if err != nil {
		t.Fatal(err)
	}
	put := func(kind tenancy.Kind, it tenancy.Item) {
		t.Helper()
		if _, err := admin.Put(ctx, tenancy.PlatformPrincipal, w.ID, kind, it, tenancy.Upsert); err != nil {
			t.Fatalf("put %s: %v", kind.Name, err)
		}
	}
	put(tenancy.KindService, &tenancy.Service{ID: "front-desk", Name: "Front desk", Target: "sip:agent@127.0.0.2:5070",
		ContextGraph: json.RawMessage(`{"nodes":["greet"]}`)})
	put(tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{"192.0.2.0/24"}, Username: "carrier", Password: trunkPassword})
	put(tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "front-desk"})
	put(tenancy.KindDataSource, &tenancy.DataSource{ID: "ehr", Kind: "fhir", BaseURL: "https://ehr.example.org", Credentials: map[string]string{"token": credential}})

	root := r.Client(t)
	rdb := r.EdgeClient(t)
	edge := tenancy.NewStore(rdb)

	t.Run("routing load and changes", func(t *testing.T) {
		m := startMap(t, edge)
		route := m.waitRoute(t, "+15551230001", w.ID, "front-desk")
		tr := route.Trunks[0]
		if tr.Realm != "edge" || tr.HA1MD5 != tenancy.NewDigestHA1("edge", "carrier", trunkPassword).MD5 {
			t.Fatalf("trunk as the edge loads it: %+v", tr)
		}
		snap, err := edge.LoadSnapshot(ctx, w.ID)
		if err != nil || snap.Services["front-desk"].ContextGraph != nil || len(snap.Trunks["carrier"].Password) != 0 {
			t.Fatalf("the routing load carried a context graph or a password: %+v %v", snap, err)
		}
		put(tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230002", ServiceID: "front-desk"})
		m.waitRoute(t, "+15551230002", w.ID, "front-desk")
	})
	t.Run("call state", func(t *testing.T) {
		rec := tenancy.CallRecord{ID: "call-1", WorkspaceID: w.ID, ServiceID: "front-desk", From: "+15557770000", To: "+15551230001",
			State: tenancy.CallRinging, StartedAt: time.Now(), NodeID: "node-1"}
		steps := []struct {
			name string
			do   func() error
		}{
			{"register node", func() error { return edge.RegisterNode(ctx, "node-1", "127.0.0.1:8080", time.Minute) }},
			{"node secret", func() error { _, err := edge.NodeSecret(ctx); return err }},
			{"admit", func() error { return edge.AdmitCall(ctx, rec, w.Limits, time.Minute) }},
			{"call token", func() error { _, err := edge.IssueCallToken(ctx, w.ID, rec.ID, rec.ServiceID, time.Minute); return err }},
			{"event", func() error {
				_, err := edge.AppendEvent(ctx, w.ID, tenancy.Event{Type: tenancy.EventCallStarted, CallID: rec.ID})
				return err
			}},
			{"renew", func() error { return edge.RenewLeases(ctx, map[string][]string{w.ID: {rec.ID}}, time.Minute) }},
			{"operator", func() error {
				return edge.PutOperator(ctx, w.ID, tenancy.OperatorRecord{ID: "op-1", CallID: rec.ID}, time.Minute)
			}},
			{"answer", func() error { rec.State = tenancy.CallAnswered; return edge.UpdateCall(ctx, rec) }},
			{"control", func() error { _, err := edge.ReadControl(ctx, "node-1", "0", 0); return err }},
			{"operator key auth", func() error {
				if _, err := edge.Authenticate(ctx, owner.Secret); err != nil {
					return err
				}
				_, err := edge.Get(ctx, w.ID, tenancy.KindOperatorConfig, "")
				return err
			}},
			{"end", func() error { rec.State = tenancy.CallEnded; return edge.EndCall(ctx, rec) }},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Errorf("%s as the edge user: %v", s.name, err)
			}
		}
	})
	t.Run("refused", func(t *testing.T) {
		for name, cmd := range map[string][]any{
			"read credentials":    {"HGETALL", "{ws:" + w.ID + "}:secrets"},
			"write configuration": {"HSET", "{ws:" + w.ID + "}:cfg", "trunk:evil", "{}"},
			"write routing":       {"HSET", "{ws:" + w.ID + "}:routing", "number:+15550000000", "{}"},
			"claim a number":      {"HSET", "edge:numbers", "+15550000000", w.ID},
			"list keys":           {"KEYS", "*"},
			"flush":               {"FLUSHALL"},
		} {
			if err := rdb.Do(ctx, cmd...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
				t.Errorf("%s as the edge user: %v, want NOPERM", name, err)
			}
		}
		sealed, err := root.HGet(ctx, "{ws:"+w.ID+"}:secrets", "data_source:ehr").Result()
		if err != nil || !strings.HasPrefix(sealed, "v1:"+tenancytest.Policy(t).Secrets.KeyID()+":") {
			t.Errorf("credentials at rest: %q %v, want v1:<key id>:<ciphertext>", sealed, err)
		}
	})
	t.Run("no secret in clear in a dump", func(t *testing.T) {
		keys, err := root.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			dump := dumpKey(t, root, k)
			for _, secret := range []string{trunkPassword, credential} {
				if strings.Contains(dump, secret) {
					t.Errorf("key %s holds %q in clear", k, secret)
				}
			}
		}
	})
}

// dumpKey returns everything key holds, as text.
func dumpKey(t *testing.T, c redis.UniversalClient, key string) string {
	t.Helper()
	ctx := context.Background()
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	switch typ {
	case "string":
		v, err = c.Get(ctx, key).Result()
	case "hash":
		v, err = c.HGetAll(ctx, key).Result()
	case "set":
		v, err = c.SMembers(ctx, key).Result()
	case "zset":
		v, err = c.ZRangeWithScores(ctx, key, 0, -1).Result()
	case "stream":
		v, err = c.XRange(ctx, key, "-", "+").Result()
	}
	if err != nil {
		t.Fatalf("dump %s: %v", key, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
