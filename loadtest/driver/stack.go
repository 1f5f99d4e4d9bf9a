package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// stack is the system under test and its peers, all on loopback: a
// private redis-server, edge-admin serve, the edge, and the SIPp services
// (UAS answering every call, echoing RTP).
type stack struct {
	o        options
	dir      string // scratch directory of the processes
	procs    *procs
	redis    *proc
	admin    *proc
	edge     *proc
	services []service
	// The references, when a run asks for them: Kamailio (reference
	// proxy) on kamAddr, rtpengine (reference relay) controlled on ngAddr.
	kamailio  *proc
	rtpengine *proc
	kamAddr   netip.AddrPort
	ngAddr    string

	redisAddr string
	adminURL  string
	token     string // platform (bootstrap) token
	sipAddr   netip.AddrPort
	httpURL   string
	// metricsURL is the edge's internal listener: /metrics and pprof.
	metricsURL string
}

// service is one SIPp UAS.
type service struct {
	proc   *proc
	addr   netip.AddrPort // SIP
	rtp    int            // echo port
	target string         // SIP URI for service items
}

// freePort returns a port free for network ("tcp" or "udp") on ip.
func freePort(network string, ip netip.Addr) (int, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", netip.AddrPortFrom(ip, 0).String())
		if err != nil {
			return 0, fmt.Errorf("find a free udp port on %s: %w", ip, err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		return 0, fmt.Errorf("find a free tcp port on %s: %w", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// freeSIPPort returns a port free for both UDP and TCP on ip.
func freeSIPPort(ip netip.Addr) (int, error) {
	for i := 0; i < 20; i++ {
		p, err := freePort("udp", ip)
		if err != nil {
			return 0, err
		}
		if ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(p)).String()); err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no port free for udp and tcp on %s", ip)
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startStack starts Redis, edge-admin and the SIPp services; the edge is
// started by startEdge once the workspaces exist (it loads the map at
// start either way).
func startStack(ctx context.Context, o options, dir string, ps *procs) (*stack, error) {
	s := &stack{o: o, dir: dir, procs: ps, token: randomToken()}
	ip := netip.MustParseAddr(o.IP)
	if err := s.startRedis(ctx, ip); err != nil {
		return nil, err
	}
	if err := s.startAdmin(ctx, ip); err != nil {
		return nil, err
	}
	for i := 0; i < o.Services; i++ {
		if err := s.startService(ctx, i); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *stack) startRedis(ctx context.Context, ip netip.Addr) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not found (scripts/install-deps.sh): %w", err)
	}
	port, err := freePort("tcp", ip)
	if err != nil {
		return err
	}
	s.redisAddr = netip.AddrPortFrom(ip, uint16(port)).String()
	rdir := filepath.Join(s.dir, "redis")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return err
	}
	s.redis, err = s.procs.start("redis", s.dir, rdir, nil, bin, "--port", strconv.Itoa(port), "--bind", ip.String(),
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", rdir)
	if err != nil {
		return err
	}
	return waitUntil(ctx, s.redis, 10*time.Second, "redis-server on "+s.redisAddr, func() bool {
		c, err := net.DialTimeout("tcp", s.redisAddr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return false
		}
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		return strings.HasPrefix(string(buf[:n]), "+PONG")
	})
}

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *stack) startAdmin(ctx context.Context, ip netip.Addr) error {
	port, err := freePort("tcp", ip)
	if err != nil {
		return err
	}
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	s.adminURL = "http://" + addr
	// The API's rate limits would throttle the driver's provisioning and
	// event reads: disabled (a negative rate disables a limit). Every
	// workspace's trunk is the one load generator address (one carrier
	// carrying every tenant): the platform allows that overlap.
	cfg := filepath.Join(s.dir, "edge-admin.yaml")
	yaml := "log_level: warn\nrate_limits:\n  key_rate: -1\n  ip_rate: -1\n  auth_fail_rate: -1\n  write_rate: -1\ntrunk_cidrs:\n  allow_overlap: true\ndefault_limits:\n  max_concurrent_calls: 0\n  max_cps: 0\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return err
	}
	env := []string{"EDGE_ADMIN_BOOTSTRAP_TOKEN=" + s.token}
	s.admin, err = s.procs.start("edge-admin", s.dir, s.dir, env, filepath.Join(s.o.Bin, "edge-admin"),
		"serve", "-config", cfg, "-addr", addr, "-redis", s.redisAddr)
	if err != nil {
		return err
	}
	return waitUntil(ctx, s.admin, 15*time.Second, "edge-admin on "+addr, func() bool { return httpOK(s.adminURL + "/readyz") })
}

// startService starts SIPp UAS number i on the service address, echoing
// RTP on its media port.
func (s *stack) startService(ctx context.Context, i int) error {
	port, err := freeSIPPort(s.o.ServiceIP)
	if err != nil {
		return err
	}
	mport, err := freePort("udp", s.o.ServiceIP)
	if err != nil {
		return err
	}
	bin, err := exec.LookPath("sipp")
	if err != nil {
		return fmt.Errorf("sipp not found (scripts/install-deps.sh): %w", err)
	}
	name := fmt.Sprintf("service-%d", i)
	wd := filepath.Join(s.dir, name)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return err
	}
	p, err := s.procs.start(name, s.dir, wd, nil, bin,
		"-sf", filepath.Join(s.o.Scenarios, "uas_load.xml"), "-i", s.o.ServiceIP.String(), "-p", strconv.Itoa(port),
		"-mi", s.o.ServiceIP.String(), "-mp", strconv.Itoa(mport), "-rtp_echo", "-rtp_buffsize", "4194304", "-nostdin", "-f", "10",
		"-max_socket", "50000", "-trace_err", "-max_log_size", "1000000")
	if err != nil {
		return err
	}
	addr := netip.AddrPortFrom(s.o.ServiceIP, uint16(port))
	s.services = append(s.services, service{proc: p, addr: addr, rtp: mport,
		target: fmt.Sprintf("sip:agent@%s;transport=udp", addr)})
	// SIPp binds at once; give it a moment, and fail early if it exited.
	return waitUntil(ctx, p, 5*time.Second, name+" listening", func() bool {
		pc, err := net.ListenPacket("udp", addr.String())
		if err != nil {
			return true // taken: SIPp holds it
		}
		pc.Close()
		return false
	})
}

// startEdge starts bin/edge, trusting the load generators' and services'
// addresses (no per-source rate limit), with pprof on its metrics address.
func (s *stack) startEdge(ctx context.Context, flooder netip.Addr) error {
	ip := netip.MustParseAddr(s.o.IP)
	sport, err := freeSIPPort(ip)
	if err != nil {
		return err
	}
	hport, err := freePort("tcp", ip)
	if err != nil {
		return err
	}
	mport, err := freePort("tcp", ip)
	if err != nil {
		return err
	}
	s.sipAddr = netip.AddrPortFrom(ip, uint16(sport))
	httpAddr := netip.AddrPortFrom(ip, uint16(hport)).String()
	metricsAddr := netip.AddrPortFrom(ip, uint16(mport)).String()
	s.httpURL = "http://" + httpAddr
	s.metricsURL = "http://" + metricsAddr
	var trusted []string
	for _, a := range append(append([]netip.Addr{}, s.o.UACIPs...), flooder, s.o.ServiceIP) {
		trusted = append(trusted, netip.PrefixFrom(a, a.BitLen()).String())
	}
	env := []string{
		"EDGE_REDIS_ADDR=" + s.redisAddr, "EDGE_SIP_ADDR=" + s.sipAddr.String(), "EDGE_HTTP_ADDR=" + httpAddr, "EDGE_METRICS_ADDR=" + metricsAddr,
		"EDGE_RTP_PORTS=" + s.o.RTPPorts, "EDGE_PUBLIC_IP=" + ip.String(), "EDGE_NODE_ID=loadtest-edge",
		"EDGE_TRUSTED_CIDRS=" + strings.Join(trusted, ","), "EDGE_LOG_LEVEL=warn", "EDGE_PPROF=1",
	}
	s.edge, err = s.procs.start("edge", s.dir, s.dir, env, filepath.Join(s.o.Bin, "edge"))
	if err != nil {
		return err
	}
	return waitUntil(ctx, s.edge, 20*time.Second, "edge ready on "+s.httpURL, func() bool { return httpOK(s.httpURL + "/readyz") })
}

// cpuTimes is the CPU time (seconds) each measured process of the stack
// has used so far, by name.
func (s *stack) cpuTimes() map[string]float64 {
	out := map[string]float64{}
	for name, p := range map[string]*proc{"edge": s.edge, "redis": s.redis, "kamailio": s.kamailio, "rtpengine": s.rtpengine} {
		if p != nil && !p.exited() {
			out[name] = groupCPU(p.pid())
		}
	}
	return out
}

// checkAlive fails when a process of the stack has exited.
func (s *stack) checkAlive() error {
	list := []*proc{s.redis, s.admin, s.edge, s.kamailio, s.rtpengine}
	for _, sv := range s.services {
		list = append(list, sv.proc)
	}
	for _, p := range list {
		if p != nil && p.exited() {
			return fmt.Errorf("%s: %w: %v (see %s)", p.name, errExited, p.err, p.log)
		}
	}
	return nil
}
