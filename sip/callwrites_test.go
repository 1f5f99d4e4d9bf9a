package sip

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/voiceedge/edge/sip/spool"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestSpoolEntriesOfBothVersionsApply: the entries an older edge spooled
// (update_call, end_call, append_event) and this one's (update_call+event,
// end_call+event) apply to a real Redis; a combined entry replayed twice
// writes its event once.
func TestSpoolEntriesOfBothVersionsApply(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	store := r.Store(t)
	a := storeApplier{store: store, lease: time.Minute}
	const ws = "ws_spoolops"
	entry := func(op, id string, v any) spool.Entry {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return spool.Entry{Op: op, WorkspaceID: ws, CallID: id, Data: b}
	}
	now := time.Now().UTC()
	rec := func(id string, st string) tenancy.CallRecord {
		rc := tenancy.CallRecord{ID: id, WorkspaceID: ws, State: st, StartedAt: now, NodeID: "n1"}
		if st == tenancy.CallEnded {
			rc.EndedAt, rc.EndReason = &now, "trunk_hangup"
		}
		return rc
	}
	ev := func(typ, id string) tenancy.Event {
		return tenancy.Event{Type: typ, Time: now, CallID: id, Data: []byte(`{}`)}
	}
	for _, id := range []string{"old", "new"} {
		if err := a.Apply(ctx, entry(opAdmit, id, admitData{Rec: rec(id, tenancy.CallRinging)})); err != nil {
			t.Fatalf("admit %s: %v", id, err)
		}
	}
	entries := []spool.Entry{
		entry(opUpdate, "old", rec("old", tenancy.CallAnswered)),
		entry(opEvent, "old", eventData{Event: ev(tenancy.EventCallAnswered, "old"), Once: "o1"}),
		entry(opEvent, "old", eventData{Event: ev("call.note", "old")}), // before once keys
		entry(opEnd, "old", rec("old", tenancy.CallEnded)),
		entry(opEvent, "old", eventData{Event: ev(tenancy.EventCallEnded, "old"), Once: "o2"}),
		entry(opUpdateEvent, "new", recordEventData{Rec: rec("new", tenancy.CallAnswered), Event: ev(tenancy.EventCallAnswered, "new"), Once: "n1"}),
		// Written straight through: its Value, never encoded.
		{Op: opEndEvent, WorkspaceID: ws, CallID: "new", Value: recordEventData{Rec: rec("new", tenancy.CallEnded), Event: ev(tenancy.EventCallEnded, "new"), Once: "n2"}},
	}
	for _, e := range entries {
		if err := a.Apply(ctx, e); err != nil {
			t.Fatalf("apply %s: %v", e.Op, err)
		}
	}
	// Replayed (applied, its answer lost): nothing more.
	if err := a.Apply(ctx, entries[5]); err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(ctx, entries[6]); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "new"} {
		got, err := store.GetCall(ctx, ws, id)
		if err != nil || got.State != tenancy.CallEnded {
			t.Fatalf("record %s: %+v %v, want ended", id, got, err)
		}
	}
	if n, _ := store.ActiveCalls(ctx, ws); n != 0 {
		t.Fatalf("%d slots held, want none", n)
	}
	if n := r.Client(t).XLen(ctx, "{ws:"+ws+"}:events").Val(); n != 5 {
		t.Fatalf("%d events, want 5 (3 of the old entries, 2 of the new)", n)
	}
}

// TestSpooledEndEndsTheToken: an end entry carrying its token's hash ends
// the token with the record, when the store issues the tokens; an entry
// without one (an older edge's) leaves the token to its own TTL.
func TestSpooledEndEndsTheToken(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	store := r.Store(t)
	const ws = "ws_spooltoken"
	for i, tc := range []struct {
		name     string
		tokens   tokenCallStore
		withHash bool
		ended    bool // the token's TTL is the grace after the end
	}{
		{name: "hash, store issues the tokens", tokens: store, withHash: true, ended: true},
		{name: "no hash (an older entry)", tokens: store},
		{name: "hash, tokens issued elsewhere", withHash: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := storeApplier{store: store, tokens: tc.tokens, lease: time.Minute}
			now := time.Now().UTC()
			rec := tenancy.CallRecord{ID: "call_" + string(rune('a'+i)), WorkspaceID: ws, State: tenancy.CallRinging, StartedAt: now, NodeID: "n1"}
			e := tenancy.Event{Type: tenancy.EventCallStarted, Time: now, CallID: rec.ID, Data: []byte(`{}`)}
			token, err := store.AdmitCallEventToken(ctx, rec, tenancy.Limits{}, time.Minute, "s"+rec.ID, e, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
			d := recordEventData{Rec: rec, Event: tenancy.Event{Type: tenancy.EventCallEnded, Time: now, CallID: rec.ID, Data: []byte(`{}`)}, Once: "e" + rec.ID}
			if tc.withHash {
				d.TokenHash = tenancy.CallTokenHash(token)
			}
			b, _ := json.Marshal(d)
			if err := a.Apply(ctx, spool.Entry{Op: opEndEvent, WorkspaceID: ws, CallID: rec.ID, Data: b}); err != nil {
				t.Fatal(err)
			}
			if got, err := store.GetCall(ctx, ws, rec.ID); err != nil || got.State != tenancy.CallEnded {
				t.Fatalf("record: %+v %v, want ended", got, err)
			}
			ttl := r.Client(t).PTTL(ctx, "{ws:"+ws+"}:calltoken:"+tenancy.HashKey(token)).Val()
			if ended := ttl > 0 && ttl <= tenancy.CallTokenGrace; ended != tc.ended {
				t.Fatalf("token ttl %v after the end, want ended %v", ttl, tc.ended)
			}
		})
	}
}
