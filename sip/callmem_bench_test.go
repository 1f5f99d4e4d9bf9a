package sip

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// callMemProfile, when set, is where BenchmarkCallMemory writes a heap
// profile at the moment it measures what completed calls left behind
// (-memprofile is written after the edge is closed, when nothing is left).
var callMemProfile = flag.String("callmemprofile", "", "heap profile of BenchmarkCallMemory's completed calls")

// BenchmarkCallMemory measures the memory a real edge Server (real UDP
// sockets, real media manager) keeps per call, issue 13's two figures:
//
//   - retained-B/call: heap left per completed call (trunk INVITE, the
//     service leg's INVITE, 200, ACK, trunk BYE, the service's BYE)
//     after a forced GC, while the calls' transactions are still within
//     their 32 s (Timer L/M/J; the service leg's BYE client transaction
//     lives 5 s, Timer K, and may be gone for the first calls);
//   - live-B/call: heap and goroutine stacks per answered call still up.
//
// b.N is the number of completed calls; run it with a fixed count, so
// that they all end within 32 s:
//
//	go test -run '^$' -bench BenchmarkCallMemory -benchtime 4000x ./sip
func BenchmarkCallMemory(b *testing.B) {
	const (
		workers = 16
		warmup  = 200
		active  = 200 // calls held up for live-B/call (4 RTP ports each)
	)
	if *callMemProfile != "" {
		// Sample every 256 bytes: a call's few KB are then all in the
		// profile, not one sample in 512 KB.
		defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
		runtime.MemProfileRate = 256
	}
	e := newMemEdge(b)
	trunks := make([]*memTrunk, workers)
	for i := range trunks {
		trunks[i] = newMemTrunk(b, e.addr, i)
	}
	// The warm-up fills the pools and maps that do not grow with the calls.
	if err := runCalls(trunks, warmup); err != nil {
		b.Fatal(err)
	}
	e.waitIdle(b)
	base := heapNow()
	start := time.Now()

	b.ResetTimer()
	if err := runCalls(trunks, b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	e.waitIdle(b)
	done := heapNow()
	if el := time.Since(start); el > 30*time.Second {
		b.Logf("calls took %v: the first calls' transactions may have ended", el)
	}
	if *callMemProfile != "" {
		writeHeapProfile(b, *callMemProfile)
	}
	b.ReportMetric(float64(int64(done.heap)-int64(base.heap))/float64(b.N), "retained-B/call")

	held := make([]*memCall, 0, active)
	for i := 0; i < active; i++ {
		c, err := trunks[i%workers].call()
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, c)
	}
	up := heapNow()
	live := int64(up.heap+up.stack) - int64(done.heap+done.stack)
	b.ReportMetric(float64(live)/active, "live-B/call")
	for _, c := range held {
		if err := c.w.bye(c); err != nil {
			b.Fatal(err)
		}
	}
	e.waitIdle(b)
}

type memStats struct{ heap, stack uint64 }

// heapNow returns the live heap and the goroutine stacks after a full GC.
func heapNow() memStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{heap: m.HeapAlloc, stack: m.StackInuse}
}

func writeHeapProfile(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// memEdge is an edge Server on 127.0.0.1 with fake routing and store (the
// unit under measure is the SIP layer and media sessions, not Redis), the
// real media manager, and a service on 127.0.0.2 that answers every
// INVITE.
type memEdge struct {
	srv  *Server
	pool *media.PortPool
	addr *net.UDPAddr
}

func newMemEdge(tb testing.TB) *memEdge {
	tb.Helper()
	svc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	go answerAll(svc)
	svcPort := svc.LocalAddr().(*net.UDPAddr).Port

	route := &routing.Route{
		Number: "+15551230001",
		Workspace: &routing.WorkspaceView{ID: "ws_mem", Environment: tenancy.EnvStaging, Status: tenancy.StatusActive,
			Trunks: []*routing.Trunk{{ID: "carrier", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}},
		Service: &routing.Service{ID: "agent", Target: tenancy.Target{User: "agent", Host: "127.0.0.2", Port: svcPort}},
	}
	route.Trunks = route.Workspace.Trunks
	pool, err := media.NewPortPool(netip.MustParseAddr("127.0.0.1"), 50000, 51999)
	if err != nil {
		tb.Fatal(err)
	}
	mcfg := media.DefaultConfig()
	mcfg.MediaTimeout = 0
	mgr, err := media.NewManager(mcfg, pool, nil, media.WithLogger(testLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeID = "node-mem"
	cfg.PublicIP = netip.MustParseAddr("127.0.0.1")
	cfg.RateLimit = 0
	cfg.MediaTimeout = 0
	// Calls as fast as 16 trunks make them saturate the CPU; the unit
	// under measure is memory, so the CPU shedder stays off.
	cfg.OverloadLatency = 0
	srv, err := New(cfg, fakeRouter{route}, MediaManager(mgr), nopStore{}, WithLogger(testLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.ServeUDP(ctx, pc) }()
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		cancel()
		wg.Wait()
		_ = mgr.Close()
	})
	return &memEdge{srv: srv, pool: pool, addr: pc.LocalAddr().(*net.UDPAddr)}
}

// waitIdle waits until the edge holds no call and no media port.
func (e *memEdge) waitIdle(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.srv.ActiveCalls() > 0 || e.pool.InUse() > 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("calls left: %d, ports in use: %d", e.srv.ActiveCalls(), e.pool.InUse())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answerAll is the service: 200 with SDP to every INVITE (its To tag
// derived from the Call-ID, so retransmissions get the same), 200 to every
// other request but ACK.
func answerAll(conn *net.UDPConn) {
	parser := sip.NewParser()
	buf := make([]byte, 65535)
	port := conn.LocalAddr().(*net.UDPAddr).Port
	body := []byte("v=0\r\no=agent 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := parser.ParseSIP(buf[:n])
		if err != nil {
			continue
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.IsAck() {
			continue
		}
		var res *sip.Response
		if req.IsInvite() {
			h := fnv.New64a()
			h.Write([]byte(req.CallID().Value()))
			res = sip.NewResponseFromRequest(req, 200, "OK", body)
			res.To().Params.Add("tag", fmt.Sprintf("s%x", h.Sum64()))
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.2", Port: port}})
			ct := sip.ContentTypeHeader("application/sdp")
			res.AppendHeader(&ct)
		} else {
			res = sip.NewResponseFromRequest(req, 200, "OK", nil)
		}
		_, _ = conn.WriteToUDP([]byte(res.String()), from)
	}
}

// memTrunk is one trunk socket placing calls one after the other.
type memTrunk struct {
	conn   *net.UDPConn
	edge   *net.UDPAddr
	parser *sip.Parser
	buf    []byte
	id, n  int
}

// memCall is what a trunk keeps of an answered call: its INVITE and the
// dialog's To and target (not the parsed 200, which would count as the
// edge's live memory).
type memCall struct {
	w          *memTrunk
	inv        *rawInvite
	to, target string
}

func newMemTrunk(tb testing.TB, edge *net.UDPAddr, id int) *memTrunk {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &memTrunk{conn: conn, edge: edge, parser: sip.NewParser(), buf: make([]byte, 65535), id: id}
}

// runCalls completes n calls over the trunks, in parallel.
func runCalls(trunks []*memTrunk, n int) error {
	var next atomic.Int64
	errs := make(chan error, len(trunks))
	var wg sync.WaitGroup
	for _, w := range trunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := w.call()
				if err == nil {
					err = w.bye(c)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

var errNoAnswer = errors.New("no answer")

// exchange sends msg until a response of method's transaction arrives,
// and returns the final one.
func (w *memTrunk) exchange(msg string, method sip.RequestMethod) (*sip.Response, error) {
	for try := 0; try < 10; try++ {
		if _, err := w.conn.WriteToUDP([]byte(msg), w.edge); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(time.Second)
		for {
			_ = w.conn.SetReadDeadline(deadline)
			n, _, err := w.conn.ReadFromUDP(w.buf)
			if err != nil {
				break // again
			}
			m, err := w.parser.ParseSIP(w.buf[:n])
			if err != nil {
				return nil, fmt.Errorf("unparsable message from the edge: %w", err)
			}
			res, ok := m.(*sip.Response)
			if !ok || res.CSeq() == nil || res.CSeq().MethodName != method || res.StatusCode < 200 {
				continue
			}
			if res.CallID() == nil || !strings.Contains(msg, "Call-ID: "+res.CallID().Value()+"\r\n") {
				continue // a retransmitted 200 of an earlier call
			}
			return res, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", method, errNoAnswer)
}

// call places a call and acknowledges its 200.
func (w *memTrunk) call() (*memCall, error) {
	w.n++
	inv := &rawInvite{
		number: "+15551230001", callID: fmt.Sprintf("mem-%d-%d-%d@test", w.id, w.n, time.Now().UnixNano()),
		branch: fmt.Sprintf("z9hG4bK-mem-%d-%d", w.id, w.n), fromTag: fmt.Sprintf("ft%d-%d", w.id, w.n), sdp: pcmuOffer,
	}
	local := w.conn.LocalAddr().String()
	res, err := w.exchange(inv.text(local), sip.INVITE)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("INVITE answered %d\n%s", res.StatusCode, res)
	}
	c := &memCall{w: w, inv: inv, to: res.To().Value(), target: res.Contact().Address.String()}
	if _, err := w.conn.WriteToUDP([]byte(c.request("ACK", 1)), w.edge); err != nil {
		return nil, err
	}
	return c, nil
}

// bye hangs up c and waits for the edge's 200.
func (w *memTrunk) bye(c *memCall) error {
	res, err := w.exchange(c.request("BYE", 2), sip.BYE)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("BYE answered %d", res.StatusCode)
	}
	return nil
}

// request is an in-dialog request of c's trunk.
func (c *memCall) request(method string, cseq int) string {
	local := c.w.conn.LocalAddr().String()
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%s\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, c.target, local, strings.ToLower(method), c.inv.branch, c.inv.fromTag, c.to, c.inv.callID, cseq, method)
}
