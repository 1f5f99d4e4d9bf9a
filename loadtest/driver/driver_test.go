package main

import (
	"context"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(o *options)
		field string // named in the error; "" for valid
	}{
		{"defaults", func(o *options) {}, ""},
		{"one workspace", func(o *options) { o.Workspaces = 1 }, "-workspaces"},
		{"no numbers", func(o *options) { o.Numbers = 0 }, "-numbers"},
		{"ramp max below start", func(o *options) { o.RampMax = o.RampStart - 1 }, "-ramp-"},
		{"endless hold", func(o *options) { o.RampHoldTime = time.Hour }, "-ramp-step-time"},
		{"loss of one", func(o *options) { o.MaxLoss = 1 }, "-max-loss"},
		{"unknown run", func(o *options) { o.Runs = "ramp,soak" }, "-runs"},
		{"no generators", func(o *options) { o.UACIPs = nil }, "-uac-ips"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOptions()
			tt.edit(&o)
			err := o.validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestParseAddrsRefusesNonLoopback(t *testing.T) {
	if _, err := parseAddrs("127.0.0.1,10.0.0.1"); err == nil {
		t.Fatal("10.0.0.1 accepted as a load generator address")
	}
}

func TestMetrics(t *testing.T) {
	before, _ := parseMetrics(strings.NewReader(`# HELP x
edge_sip_invites_total{reason="cps_limit",result="rejected"} 3
edge_sip_setup_seconds_bucket{le="0.005"} 0
edge_sip_setup_seconds_bucket{le="0.01"} 0
edge_sip_setup_seconds_bucket{le="+Inf"} 0
`))
	after, _ := parseMetrics(strings.NewReader(`edge_sip_invites_total{reason="cps_limit",result="rejected"} 10
edge_sip_invites_total{reason="answered",result="accepted"} 90
edge_sip_setup_seconds_bucket{le="0.005"} 50
edge_sip_setup_seconds_bucket{le="0.01"} 100
edge_sip_setup_seconds_bucket{le="+Inf"} 100
go_goroutines 12
`))
	tests := []struct {
		name      string
		got, want float64
	}{
		{"delta with labels", after.delta(before, "edge_sip_invites_total", `result="rejected"`), 7},
		{"sum of all labels", after.sum("edge_sip_invites_total"), 100},
		{"gauge", after.sum("go_goroutines"), 12},
		{"p50 in the first bucket", histogramQuantile(after, before, "edge_sip_setup_seconds", 0.5), 0.005},
		{"p99 interpolated", histogramQuantile(after, before, "edge_sip_setup_seconds", 0.99), 0.0099},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := tt.got - tt.want; d > 1e-9 || d < -1e-9 {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[99-i] = float64(i + 1)
	}
	p50, p95, p99, mx := percentiles(xs)
	if p50 != 50 || p95 != 95 || p99 != 99 || mx != 100 {
		t.Fatalf("percentiles = %v %v %v %v", p50, p95, p99, mx)
	}
	if a, b, c, d := percentiles(nil); a+b+c+d != 0 {
		t.Fatal("percentiles of nothing are not zero")
	}
}

func TestSIPpFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat.csv", "ElapsedTime(P);OutgoingCall(P);TotalCallCreated;SuccessfulCall(C);FailedCall(C);Retransmissions(C);\n"+
		"00:00:00;0;0;0;0;0;\n00:00:01;100;100;90;0;0;\n00:00:01:500000;150;250;240;2;3;\n00:00:01;0;250;246;4;3;\n")
	write("uac_load_1_counts.csv", "CurrentTime;ElapsedTime;0_INVITE_Sent;7_486_Recv;9_503_Recv;10_200_Recv;\nx;y;250;3;1;246;\n")
	write("uac_load_1_rtt.csv", "Date_ms;response_time_ms;rtd_no\n1;0;setup\n2;4;setup\n")
	r := &uacResult{}
	if err := r.readStats(filepath.Join(dir, "stat.csv")); err != nil {
		t.Fatal(err)
	}
	r.readCounts(dir)
	r.readRTT(dir)
	tests := []struct {
		name      string
		got, want float64
	}{
		{"created", float64(r.Created), 250},
		{"successful", float64(r.Successful), 246},
		{"failed", float64(r.Failed), 4},
		{"retransmissions", float64(r.Retransmissions), 3},
		{"rate over the sending seconds", r.AchievedRate, 100},
		{"refused", float64(r.Refused), 4},
		{"refused 486", float64(r.RefusedByCode["486"]), 3},
		{"setup samples", float64(len(r.Setup)), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestWriteCSVInterleaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.csv")
	wss := []workspace{{numbers: []string{numberOf(0, 0), numberOf(0, 1)}}, {numbers: []string{numberOf(1, 0)}}}
	if err := writeCSV(path, wss); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "SEQUENTIAL\n+15550000000;\n+15550010000;\n+15550000001;\n"
	if string(data) != want {
		t.Fatalf("csv = %q, want %q", data, want)
	}
}

func TestParseBench(t *testing.T) {
	rs := parseBench("./media", "goos: linux\nBenchmarkRelayHandle/passthrough-2   \t 1000000\t      52.1 ns/op\t 3301.20 MB/s\t       0 B/op\t       0 allocs/op\nPASS\n")
	if len(rs) != 1 || rs[0].NsPerOp != 52.1 || rs[0].AllocsPerOp != 0 || rs[0].Package != "media" {
		t.Fatalf("parseBench = %+v", rs)
	}
}

// newTestStack starts the stack with the binaries built for the test, two
// workspaces of three numbers and one service; everything is stopped at
// cleanup.
func newTestStack(t *testing.T) (*runner, *stack) {
	t.Helper()
	for _, bin := range []string{"sipp", "redis-server"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found (scripts/install-deps.sh): %v", bin, err)
		}
	}
	binDir := t.TempDir()
	build := exec.Command("go", "build", "-o", binDir+"/", "../../cmd/edge", "../../cmd/edge-admin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	o := defaultOptions()
	o.Workspaces, o.Numbers, o.Services = 2, 3, 1
	o.Bin, o.IP, o.ServiceIP = binDir, "127.0.0.60", netip.MustParseAddr("127.0.0.61")
	o.UACIPs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	scen, err := filepath.Abs("../sipp")
	if err != nil {
		t.Fatal(err)
	}
	o.Scenarios = scen
	dir := t.TempDir()
	ps := &procs{}
	t.Cleanup(ps.stopAll)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := startStack(ctx, o, dir, ps)
	if err != nil {
		t.Fatal(err)
	}
	flooder := netip.MustParseAddr("127.0.0.21")
	wss, err := provision(ctx, s, o.UACIPs, flooder, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.startEdge(ctx, flooder); err != nil {
		t.Fatal(err)
	}
	r := &runner{o: o, s: s, wss: wss, dir: dir, out: dir, log: io.Discard, flooder: flooder}
	if err := r.writeCSVs(); err != nil {
		t.Fatal(err)
	}
	return r, s
}

// TestSmoke drives 10 calls through the real stack, then calls the edge
// must refuse 404 and the driver count as refused: a number no workspace
// owns, and workspace 1's number from the carrier address of workspace 0
// only (the boundary: it must look exactly like an unknown number).
func TestSmoke(t *testing.T) {
	r, s := newTestStack(t)
	ctx := context.Background()
	st, err := r.drive(ctx, "smoke", "10 calls", r.split("smoke", "uac_load.xml", r.csvAll, 10, 10, 20, 200*time.Millisecond, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 10 || st.Successful != 10 || st.Failed != 0 || st.Refused != 0 || st.Retrans != 0 {
		t.Fatalf("10 calls: created %d, successful %d, failed %d, refused %d, retransmissions %d",
			st.Created, st.Successful, st.Failed, st.Refused, st.Retrans)
	}
	if len(st.Trunks[0].Setup) != 10 {
		t.Fatalf("%d setup times, want 10", len(st.Trunks[0].Setup))
	}
	tests := []struct {
		name, number string
		src          netip.Addr
	}{
		{"unknown number", "+15559999999", r.o.UACIPs[0]},
		{"other workspace's number from workspace 0's carrier", r.wss[1].numbers[0], r.flooder},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csv := filepath.Join(r.dir, "cross.csv")
			if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+tt.number+";\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			spec := uacSpec{name: "cross-" + string(rune('a'+i)), scenario: "uac_load.xml", src: tt.src, csv: csv,
				rate: 1, calls: 1, limit: 1, timeout: 20 * time.Second}
			st, err := r.drive(ctx, "smoke", tt.name, []uacSpec{spec})
			if err != nil {
				t.Fatal(err)
			}
			if st.Successful != 0 || st.Refused != 1 || st.RefusedByCode["404"] != 1 || st.EdgeRejects["not_found"] != 1 {
				t.Fatalf("answered %d, refused %d %v, edge rejections %v; want one 404", st.Successful, st.Refused, st.RefusedByCode, st.EdgeRejects)
			}
		})
	}
	waitDrained(ctx, s, 10*time.Second)
	if err := s.checkAlive(); err != nil {
		t.Fatal(err)
	}
}

// TestIsEcho: only the generator's PCMU packets count as received, not an
// RTCP report that lands on a caller socket.
func TestIsEcho(t *testing.T) {
	rtp := make([]byte, rtpPacketLen)
	rtp[0] = 0x80
	sr := append([]byte{0x80, 200, 0, 6}, make([]byte, 24)...) // RTCP SR
	long := append(append([]byte(nil), rtp...), 0)
	v1 := append([]byte(nil), rtp...)
	v1[0] = 0x40
	for name, tc := range map[string]struct {
		b    []byte
		want bool
	}{
		"rtp": {rtp, true}, "rtcp": {sr, false}, "other size": {long, false}, "version 1": {v1, false}, "empty": {nil, false},
	} {
		if got := isEcho(tc.b); got != tc.want {
			t.Errorf("%s: isEcho = %v, want %v", name, got, tc.want)
		}
	}
}
