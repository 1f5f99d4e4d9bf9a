package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// tortureDir is the folder of the RFC 4475 torture messages, shared with
// the project (../shared beside the repository), or "" when absent.
func tortureDir() string {
	for _, dir := range []string{
		filepath.Join("..", "..", "shared", "testdata", "sip-torture", "rfc4475"),
		"/work/shared/testdata/sip-torture/rfc4475",
	} {
		if files, _ := filepath.Glob(filepath.Join(dir, "*.dat")); len(files) > 0 {
			return dir
		}
	}
	return ""
}

// tortureWant is the edge's answer to one torture message: the final
// statuses, in order, of the requests it holds (none: dropped), and what
// else the answer must carry.
type tortureWant struct {
	udp []int
	// tcp, when set, is also sent over TCP, with these answers; the edge
	// keeps the connection open whatever came over it.
	tcp    []int
	tcpSet bool
	// header is a header line the answer must hold (e.g. "Unsupported: ").
	header []string
}

func answers(codes ...int) []int { return codes }

// tortureTable is the expected handling of every message of RFC 4475, by
// the class of /work/shared/testdata/sip-torture/README.md. The To and
// Request-URI numbers of the messages are in no workspace: an INVITE the
// edge processes is answered 404.
var tortureTable = map[string]tortureWant{
	// Valid: parsed and answered as the request deserves.
	"dblreq":     {udp: answers(405), tcp: answers(400, 405), tcpSet: true, header: []string{"Allow: "}}, // over TCP the INVITE behind follows: no Contact, 400
	"esc01":      {udp: answers(404)},
	"esc02":      {udp: answers(501), tcp: answers(501), tcpSet: true, header: []string{"Allow: "}},
	"escnull":    {udp: answers(405)},
	"intmeth":    {udp: answers(501), tcp: answers(501), tcpSet: true},
	"longreq":    {udp: answers(404), tcp: answers(404), tcpSet: true},
	"lwsdisp":    {udp: answers(200)},
	"mpart01":    {udp: answers(405)},
	"noreason":   {udp: nil},
	"semiuri":    {udp: answers(200)},
	"transports": {udp: answers(200)},
	"unreason":   {udp: nil},
	"wsinv":      {udp: answers(481), tcp: answers(481), tcpSet: true}, // its To has a tag: a request of a dialog that does not exist
	"cparam01":   {udp: answers(405)},
	"cparam02":   {udp: answers(405)},
	"regescrt":   {udp: answers(405)},
	"inv2543":    {udp: answers(400)}, // RFC 2543: no From tag, no branch; refused, see doc.go
	// Invalid requests: 400, or dropped when nothing can be addressed.
	"badinv01":   {udp: answers(400)},
	"ncl":        {udp: answers(400), tcp: answers(400), tcpSet: true},
	"scalar02":   {udp: answers(400), tcp: answers(400), tcpSet: true},
	"quotbal":    {udp: answers(400)},
	"ltgtruri":   {udp: answers(400)},
	"mismatch01": {udp: answers(400)},
	"mismatch02": {udp: answers(400)},
	"baddn":      {udp: answers(400)},
	"clerr":      {udp: answers(400), tcp: nil, tcpSet: true}, // over TCP the body is still to come: no answer
	"lwsruri":    {udp: answers(400)},
	"insuf":      {udp: answers(400)},
	"multi01":    {udp: answers(400)},
	"mcl01":      {udp: answers(400), tcp: answers(400), tcpSet: true}, // the last Content-Length frames it; the rest is discarded
	// Wrong version.
	"badvers": {udp: answers(505)},
	// Invalid responses: dropped silently.
	"scalarlg": {udp: nil, tcp: nil, tcpSet: true},
	"bigcode":  {udp: nil},
	// May be accepted or rejected.
	"lwsstart":  {udp: answers(400)},
	"trws":      {udp: answers(400), tcp: answers(400), tcpSet: true},
	"baddate":   {udp: answers(404)},
	"badaspec":  {udp: answers(400)},
	"regbadct":  {udp: answers(405)},
	"escruri":   {udp: answers(404)},
	"badbranch": {udp: answers(200)},
	"bcast":     {udp: nil},
	// Application layer.
	"unkscm":   {udp: answers(416), tcp: answers(416), tcpSet: true},
	"novelsc":  {udp: answers(416), tcp: answers(416), tcpSet: true}, // sipgo cannot parse the URI: answered from the raw bytes
	"unksm2":   {udp: answers(416)},
	"bext01":   {udp: answers(420), tcp: answers(420), tcpSet: true, header: []string{"Unsupported: nothingSupportsThis, nothingSupportsThisEither"}},
	"invut":    {udp: answers(415), header: []string{"Accept: application/sdp"}},
	"sdp01":    {udp: answers(488)},
	"zeromf":   {udp: answers(200)}, // RFC 4475 zeromf: an endpoint answers OPTIONS with Max-Forwards 0 as any other (RFC 3261 section 11)
	"regaut01": {udp: answers(405), tcp: answers(405), tcpSet: true},
}

// TestTortureRFC4475 sends every RFC 4475 torture message from a trunk
// address to a live edge (real Redis, real routing map) over UDP, and
// over TCP where the message's transport or framing calls for it, and
// checks the answer of each, then that the edge is up and nothing of the
// message stayed: no call record, slot, CPS count or event in any
// workspace, nothing sent to the service, no port or dialog held.
func TestTortureRFC4475(t *testing.T) {
	dir := tortureDir()
	if dir == "" {
		t.Skip("shared/testdata/sip-torture is absent")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEdge(t)
	sink := newServiceSink(t)
	src := newTortureSource(t)
	wsA := e.addWorkspace(t, wsSpec{name: "ClinicA", number: "+15551230001", cidr: "127.0.0.1/32", target: sink.target})
	wsB := e.addWorkspace(t, wsSpec{name: "ClinicB", number: "+15551230002", cidr: "127.0.0.5/32", target: sink.target})
	// The torture messages come from the 127.0.0.1 trunk's carrier, from
	// the address of its source socket (port 5060, see newTortureSource).
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, wsA, tenancy.KindTrunk,
		&tenancy.Trunk{ID: "torture", Name: "Torture", AllowedCIDRs: []string{src.ip + "/32"}}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "torture trunk", func() bool { return len(e.routes.TrunksFrom(netip.MustParseAddr(src.ip))) > 0 })
	probe := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	before := map[string]int{wsA: len(e.events(t, wsA)), wsB: len(e.events(t, wsB))}

	// RFC 4475 reuses Via branches across messages, and the same message
	// goes over UDP and TCP: to sipgo (RFC 3261 section 17.2.3) a later
	// one would be a retransmission of the earlier and get its answer. A
	// message goes to the first edge ("lane": another Server on the same
	// Redis, routing map and port pool) that holds no transaction of its
	// key.
	lanes := []*tortureLane{{srv: e.srv, udp: e.udpAddr, tcp: e.tcpAddr, keys: map[string]bool{}}}
	laneFor := func(key string) *tortureLane {
		for _, l := range lanes {
			if key == "" || !l.keys[key] {
				l.keys[key] = true
				return l
			}
		}
		l := newTortureLane(t, e)
		l.keys[key] = true
		lanes = append(lanes, l)
		return l
	}
	report := map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".dat")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := tortureTable[name]
		t.Run(name, func(t *testing.T) {
			if !ok {
				t.Fatalf("no expectation for %s: add it to tortureTable", name)
			}
			key := txKey(data)
			lane := laneFor(key)
			got, raws := src.exchangeUDP(t, lane.udp, data, len(want.udp))
			report[name] = "udp " + codesString(got)
			checkAnswers(t, "udp", got, want.udp, raws, want.header)
			if want.tcpSet {
				got, raws, closed := src.exchangeTCP(t, laneFor(key).tcp, data, len(want.tcp))
				report[name] += ", tcp " + codesString(got)
				if closed {
					report[name] += " (closed)"
				}
				checkAnswers(t, "tcp", got, want.tcp, raws, want.header)
				if closed {
					t.Error("tcp: the edge closed the connection")
				}
			}
			e.checkNothingStayed(t, probe, sink, before)
			for _, l := range lanes {
				if calls, legs, peers := l.srv.dialogs.sizes(); calls+legs+peers != 0 {
					t.Errorf("lane %s holds calls=%d legs=%d peers=%d", l.udp, calls, legs, peers)
				}
			}
		})
	}
	var names []string
	for n := range report {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-10s %s", n, report[n])
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "accepted"}); got != 0 {
		t.Errorf("invites accepted: %v", got)
	}
	for _, l := range lanes[1:] {
		l.stop()
	}
	e.checkNoLeaks(t, wsA, wsB)
}

// tortureLane is a Server a torture message is sent to.
type tortureLane struct {
	srv      *Server
	udp, tcp string
	keys     map[string]bool
	stop     func()
}

// newTortureLane starts another Server on the Redis, routing map and port
// pool of e, with UDP and TCP listeners; it stops at cleanup or by stop.
func newTortureLane(t *testing.T, e *testEdge) *tortureLane {
	t.Helper()
	mgr, err := media.NewManager(media.DefaultConfig(), e.pool, prometheus.NewRegistry(), media.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeID = fmt.Sprintf("node-lane-%d", time.Now().UnixNano())
	cfg.PublicIP = netip.MustParseAddr("127.0.0.1")
	cfg.ControlWait = 100 * time.Millisecond
	srv, err := New(cfg, e.routes, MediaManager(mgr), e.store, WithLogger(testLogger()), WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.ServeUDP(ctx, pc) }()
	go func() { defer wg.Done(); _ = srv.ServeTCP(ctx, ln) }()
	var once sync.Once
	l := &tortureLane{srv: srv, udp: pc.LocalAddr().String(), tcp: ln.Addr().String(), keys: map[string]bool{}}
	l.stop = func() {
		once.Do(func() {
			_ = srv.Close()
			cancel()
			wg.Wait()
			_ = mgr.Close()
		})
	}
	t.Cleanup(l.stop)
	return l
}

// txKey is what sipgo matches a request's server transaction by: the top
// Via's branch and sent-by, or, for a branch of RFC 2543, the From tag and
// Call-ID ("" when the message makes no transaction).
func txKey(data []byte) string {
	msg, err := sip.NewParser().ParseSIP(data)
	if err != nil {
		return ""
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Via() == nil {
		return ""
	}
	branch, _ := req.Via().Params.Get("branch")
	if strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) && len(branch) > len(sip.RFC3261BranchMagicCookie) {
		return fmt.Sprintf("%s|%s|%d", branch, req.Via().Host, req.Via().Port)
	}
	var tag, id string
	if req.From() != nil {
		tag, _ = req.From().Params.Get("tag")
	}
	if req.CallID() != nil {
		id = req.CallID().Value()
	}
	return tag + "|" + id
}

func sorted(codes []int) []int {
	out := append([]int(nil), codes...)
	sort.Ints(out)
	return out
}

func codesString(codes []int) string {
	if len(codes) == 0 {
		return "none"
	}
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// checkAnswers compares the answers as a set: sipgo handles the requests
// of one stream concurrently, and answers them in any order.
func checkAnswers(t *testing.T, transport string, got, want []int, raws [][]byte, headers []string) {
	t.Helper()
	if codesString(sorted(got)) != codesString(sorted(want)) {
		t.Errorf("%s: answers %s, want %s\n%s", transport, codesString(got), codesString(want), bytes.Join(raws, []byte("\n---\n")))
		return
	}
	for _, h := range headers {
		if len(raws) == 0 || !bytes.Contains(bytes.Join(raws, nil), []byte("\r\n"+h)) {
			t.Errorf("%s: answer lacks %q:\n%s", transport, h, bytes.Join(raws, []byte("\n---\n")))
		}
	}
}

// checkNothingStayed checks, after a torture message, that the edge is up
// (an OPTIONS of the trunk gets 200) and holds nothing of the message.
func (e *testEdge) checkNothingStayed(t *testing.T, probe *rawTrunk, sink *serviceSink, before map[string]int) {
	t.Helper()
	ctx := context.Background()
	branch := fmt.Sprintf("z9hG4bK-probe-%d", time.Now().UnixNano())
	probe.send(t, "OPTIONS sip:edge SIP/2.0\r\nVia: SIP/2.0/UDP "+probe.local()+";branch="+branch+"\r\n"+
		"From: <sip:carrier@carrier>;tag=p1\r\nTo: <sip:edge@edge>\r\nCall-ID: "+branch+"@probe\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	if res, raw := probe.final(t, 3*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("edge no longer answers OPTIONS: %v\n%s", res, raw)
	}
	for ws, n := range before {
		calls, _, err := e.store.ListCalls(ctx, ws, false, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		active, err := e.store.ActiveCalls(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 0 || active != 0 {
			t.Errorf("workspace %s: %d call records, %d active", ws, len(calls), active)
		}
		if got := len(e.events(t, ws)); got != n {
			t.Errorf("workspace %s: %d new events", ws, got-n)
		}
	}
	if keys, err := e.redis.Client(t).Keys(ctx, "*:cps:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("CPS counts %v (err %v)", keys, err)
	}
	if msg := sink.received(20 * time.Millisecond); msg != nil {
		t.Errorf("the service received:\n%s", msg)
	}
	if calls, legs, peers := e.srv.dialogs.sizes(); calls+legs+peers != 0 || e.pool.InUse() != 0 {
		t.Errorf("held: calls=%d legs=%d peers=%d ports=%d", calls, legs, peers, e.pool.InUse())
	}
}

// serviceSink is a UDP socket standing in for the workspaces' service: it
// must receive nothing.
type serviceSink struct {
	conn   *net.UDPConn
	target string
}

func newServiceSink(t *testing.T) *serviceSink {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &serviceSink{conn: conn, target: fmt.Sprintf("sip:agent@%s;transport=udp", conn.LocalAddr())}
}

func (s *serviceSink) received(d time.Duration) []byte {
	buf := make([]byte, 65535)
	_ = s.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := s.conn.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// tortureSource sends the torture messages as a carrier would. Its UDP
// socket is bound to port 5060, the port their Via headers name (none
// names another port or asks for rport but mpart01, whose rport is the
// source port anyway), so the edge's answers, which go to the source IP
// and the Via port (RFC 3261 section 18.2.2), reach it. It uses an
// address of its own in 127.0.0.0/8 so that no local SIP server on
// 127.0.0.1:5060 is in the way.
type tortureSource struct {
	ip  string
	udp *net.UDPConn
}

func newTortureSource(t *testing.T) *tortureSource {
	t.Helper()
	var lastErr error
	for last := 61; last < 90; last++ {
		ip := fmt.Sprintf("127.0.0.%d", last)
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip), Port: 5060})
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(func() { conn.Close() })
		return &tortureSource{ip: ip, udp: conn}
	}
	t.Fatalf("no address of 127.0.0.61-89 has UDP port 5060 free: %v", lastErr)
	return nil
}

// exchangeUDP sends msg and collects the final answers to it (matched by
// Call-ID), acknowledging those to an INVITE, until n arrived or, with n
// 0, for a quiet period.
func (s *tortureSource) exchangeUDP(t *testing.T, edgeAddr string, msg []byte, n int) ([]int, [][]byte) {
	t.Helper()
	edge, err := net.ResolveUDPAddr("udp4", edgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.udp.WriteToUDP(msg, edge); err != nil {
		t.Fatal(err)
	}
	ids := callIDs(msg)
	wait := 2 * time.Second
	if n == 0 {
		wait = 400 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	var codes []int
	var raws [][]byte
	buf := make([]byte, 65535)
	for len(codes) < n || n == 0 {
		_ = s.udp.SetReadDeadline(deadline)
		k, _, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			break
		}
		raw := append([]byte(nil), buf[:k]...)
		code, final := statusOf(raw)
		if !final || !ids[headerValue(raw, "call-id", "i")] {
			continue
		}
		codes = append(codes, code)
		raws = append(raws, raw)
		if ack := ackFor(msg, raw); ack != nil {
			_, _ = s.udp.WriteToUDP(ack, edge)
		}
	}
	return codes, raws
}

// exchangeTCP sends msg on a new TCP connection from the source's address
// and collects the final answers until n arrived (or a quiet period, with
// n 0); it reports whether the edge closed the connection.
func (s *tortureSource) exchangeTCP(t *testing.T, edgeAddr string, msg []byte, n int) ([]int, [][]byte, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.ip)}, Timeout: 2 * time.Second}
	conn, err := d.Dial("tcp4", edgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return exchangeStream(t, conn, msg, n)
}

// exchangeStream sends msg on a stream connection and collects the final
// answers to it (matched by Call-ID), acknowledging those to an INVITE,
// until n arrived (or for a quiet period, with n 0); it reports whether
// the peer closed the connection.
func exchangeStream(t *testing.T, conn net.Conn, msg []byte, n int) ([]int, [][]byte, bool) {
	t.Helper()
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	ids := callIDs(msg)
	wait := 2 * time.Second
	if n == 0 {
		wait = 400 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	var codes []int
	var raws [][]byte
	var stream []byte
	take := func() {
		for {
			raw, rest, ok := nextMessage(stream)
			if !ok {
				return
			}
			stream = rest
			if code, final := statusOf(raw); final && ids[headerValue(raw, "call-id", "i")] {
				codes, raws = append(codes, code), append(raws, raw)
				if ack := ackFor(msg, raw); ack != nil {
					_, _ = conn.Write(ack)
				}
			}
		}
	}
	closed, grace := false, false
	buf := make([]byte, 65535)
	for {
		take()
		if n > 0 && len(codes) >= n && !grace {
			// The edge may close the connection right after its answer.
			deadline, grace = time.Now().Add(200*time.Millisecond), true
		}
		_ = conn.SetReadDeadline(deadline)
		k, err := conn.Read(buf)
		stream = append(stream, buf[:k]...)
		if err != nil {
			var ne net.Error
			closed = !(errors.As(err, &ne) && ne.Timeout())
			take()
			break
		}
	}
	return codes, raws, closed
}

// nextMessage splits the first SIP message off a stream of responses.
func nextMessage(stream []byte) (msg, rest []byte, ok bool) {
	stream = bytes.TrimLeft(stream, "\r\n")
	i := bytes.Index(stream, []byte("\r\n\r\n"))
	if i < 0 {
		return nil, stream, false
	}
	end := i + 4
	if cl := headerValue(stream[:end], "content-length", "l"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || end+n > len(stream) {
			return nil, stream, false
		}
		end += n
	}
	return stream[:end], stream[end:], true
}

// statusOf returns the status code of a response and whether it is final.
func statusOf(raw []byte) (int, bool) {
	line, _, _ := bytes.Cut(raw, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0, false
	}
	code, err := strconv.Atoi(f[1])
	return code, err == nil && code >= 200
}

// headerValue returns the first value of a header (long or compact name)
// in a message's header block.
func headerValue(raw []byte, names ...string) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range unfold(head) {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(strings.TrimSpace(name), n) {
				return strings.TrimSpace(value)
			}
		}
	}
	return ""
}

// callIDs returns the Call-ID values of the messages in raw ("" when it
// has none: the answer then carries none either).
func callIDs(raw []byte) map[string]bool {
	ids := map[string]bool{}
	for _, line := range unfold(raw) {
		name, value, ok := strings.Cut(line, ":")
		if ok && (strings.EqualFold(strings.TrimSpace(name), "call-id") || strings.EqualFold(strings.TrimSpace(name), "i")) {
			ids[strings.TrimSpace(value)] = true
		}
	}
	if len(ids) == 0 {
		ids[""] = true
	}
	return ids
}

// ackFor builds the ACK of a final non-2xx answer to an INVITE (RFC 3261
// section 17.1.1.3), from the answer's Via, From, To and Call-ID; nil for
// other answers.
func ackFor(req, res []byte) []byte {
	cseq := headerValue(res, "cseq")
	num, method, _ := strings.Cut(cseq, " ")
	if strings.TrimSpace(method) != "INVITE" {
		return nil
	}
	line, _, _ := bytes.Cut(req, []byte("\r\n"))
	parts := strings.Split(string(line), " ")
	if len(parts) != 3 {
		return nil
	}
	return []byte("ACK " + parts[1] + " SIP/2.0\r\n" +
		"Via: " + headerValue(res, "via", "v") + "\r\n" +
		"From: " + headerValue(res, "from", "f") + "\r\n" +
		"To: " + headerValue(res, "to", "t") + "\r\n" +
		"Call-ID: " + headerValue(res, "call-id", "i") + "\r\n" +
		"CSeq: " + num + " ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
}
