package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func TestNodeRegistry(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	if _, err := s.NodeHTTPAddr(ctx, "node-a"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unregistered node: %v", err)
	}
	if err := s.RegisterNode(ctx, "node-a", "10.0.0.1:8080", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if addr, err := s.NodeHTTPAddr(ctx, "node-a"); err != nil || addr != "10.0.0.1:8080" {
		t.Fatalf("addr %q, %v", addr, err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := s.NodeHTTPAddr(ctx, "node-a"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("expired registration: %v", err)
	}
	if err := s.RegisterNode(ctx, "", "x:1", time.Second); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("empty node id: %v", err)
	}
}

func TestOperatorPresence(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithClock(func() time.Time { return now }))
	wa, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	wb, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	put := func(ws, id string, lease time.Duration) {
		t.Helper()
		if err := s.PutOperator(ctx, ws, tenancy.OperatorRecord{ID: id, CallID: "c1", AccountID: "acc_1", Mode: "listen"}, lease); err != nil {
			t.Fatal(err)
		}
	}
	put(wa.ID, "op1", time.Minute)
	put(wa.ID, "op2", time.Second)
	now = now.Add(2 * time.Second) // op2's lease ran out
	ops, err := s.ListOperators(ctx, wa.ID)
	if err != nil || len(ops) != 1 || ops[0].ID != "op1" {
		t.Fatalf("A: %+v %v", ops, err)
	}
	if ops, _ := s.ListOperators(ctx, wb.ID); len(ops) != 0 {
		t.Fatalf("B sees A's operators: %+v", ops)
	}
	if err := s.RemoveOperator(ctx, wa.ID, "op1"); err != nil {
		t.Fatal(err)
	}
	if ops, _ := s.ListOperators(ctx, wa.ID); len(ops) != 0 {
		t.Fatalf("after remove: %+v", ops)
	}
	put(wa.ID, "op3", time.Minute)
	if err := s.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, wa.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Client().Exists(ctx, "{ws:"+wa.ID+"}:operators").Result(); n != 0 {
		t.Fatal("operators of a deleted workspace remain")
	}
}
