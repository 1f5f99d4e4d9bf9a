package main

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// newRefStack starts what the references need and nothing more: a
// private Redis and one SIPp service (answers, echoes RTP); two fake
// workspaces of three numbers. Everything is stopped at cleanup.
func newRefStack(t *testing.T) (*runner, context.Context) {
	t.Helper()
	o := defaultOptions()
	o.Workspaces, o.Numbers, o.Services, o.KamailioChildren, o.RTPEngineThreads = 2, 3, 1, 2, 1
	o.IP, o.ServiceIP = "127.0.0.62", mustAddr("127.0.0.63")
	o.UACIPs = []netip.Addr{mustAddr("127.0.0.1")}
	scen, err := filepath.Abs("../sipp")
	if err != nil {
		t.Fatal(err)
	}
	o.Scenarios = scen
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ps := &procs{}
	t.Cleanup(ps.stopAll)
	dir := t.TempDir()
	s := &stack{o: o, dir: dir, procs: ps}
	if err := s.startRedis(ctx, mustAddr(o.IP)); err != nil {
		t.Fatal(err)
	}
	if err := s.startService(ctx, 0); err != nil {
		t.Fatal(err)
	}
	wss := []workspace{{id: "ws-a", numbers: []string{numberOf(0, 0), numberOf(0, 1), numberOf(0, 2)}},
		{id: "ws-b", numbers: []string{numberOf(1, 0), numberOf(1, 1), numberOf(1, 2)}}}
	r := &runner{o: o, s: s, wss: wss, dir: dir, out: dir}
	if err := r.writeCSVs(); err != nil {
		t.Fatal(err)
	}
	return r, ctx
}

// TestKamailioReference sends 6 calls of the load scenario through the
// reference Kamailio to the SIPp service: all answered and ended, with
// exactly two Redis GETs per call.
func TestKamailioReference(t *testing.T) {
	r, ctx := newRefStack(t)
	if err := r.s.startKamailio(ctx, mustAddr(r.o.IP)); err != nil {
		t.Fatal(err)
	}
	if err := refKeys(ctx, r.s, r.wss); err != nil {
		t.Fatal(err)
	}
	gets0, err := redisGets(ctx, r.s.redisAddr)
	if err != nil {
		t.Fatal(err)
	}
	spec := uacSpec{name: "ref-smoke", scenario: "uac_load.xml", src: r.o.UACIPs[0], target: r.s.kamAddr, csv: r.csvAll,
		rate: 20, calls: 6, limit: 6, hold: 200 * time.Millisecond, timeout: 20 * time.Second}
	res, err := runUAC(ctx, r.s, r.dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 6 || res.Successful != 6 || res.Failed != 0 || res.Refused != 0 {
		t.Fatalf("6 calls through kamailio: created %d, answered %d, failed %d, refused %d (%s)", res.Created, res.Successful, res.Failed, res.Refused, res.Errors)
	}
	gets, err := redisGets(ctx, r.s.redisAddr)
	if err != nil {
		t.Fatal(err)
	}
	if d := gets - gets0; d != 12 {
		t.Fatalf("%d redis GETs for 6 calls, want 12 (two lookups per INVITE)", d)
	}
	if _, ok := r.s.cpuTimes()["kamailio"]; !ok {
		t.Fatal("kamailio's CPU time is not measured")
	}
}

// TestRTPEngineReference sets up three calls in rtpengine over ng (at
// once, as the driver does) with the SIPp service as the callee, relays
// 1 s of paced RTP through them and back, and deletes the calls.
func TestRTPEngineReference(t *testing.T) {
	r, ctx := newRefStack(t)
	if err := r.s.startRTPEngine(ctx, mustAddr(r.o.IP)); err != nil {
		t.Fatal(err)
	}
	ng, err := newNGClient(r.s.ngAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ng.Close()
	calls, err := openRelayCalls(ctx, 3, r, r.rtpengineSetup(ng))
	if err != nil {
		t.Fatal(err)
	}
	if dst := calls.legs[0].dst; dst.Addr() != mustAddr(r.o.IP) {
		t.Fatalf("rtpengine's answer points the caller at %s, want an address on %s", dst, r.o.IP)
	}
	sent, recv := streamRTP(ctx, calls.legs, time.Second)
	calls.hangup(ctx)
	if sent < 3*40 || recv < sent*9/10 {
		t.Fatalf("relayed through rtpengine: sent %d, received back %d", sent, recv)
	}
	if _, err := ng.do(ctx, map[string]any{"command": "no-such-command"}); !errors.Is(err, errNG) {
		t.Fatalf("an unknown command: %v, want errNG", err)
	}
}
