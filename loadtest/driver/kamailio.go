package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Kamailio reference (loadtest/reference/kamailio.cfg): a stateful
// proxy doing the edge's two lookups per INVITE in Redis, in front of the
// same SIPp services.

// kamailioBin is Debian's path (the package installs no other).
const kamailioBin = "/usr/sbin/kamailio"

// startKamailio runs the reference config on a free SIP port of ip, its
// Redis the stack's, in the foreground in a process group of its own
// (its workers are forked; groupCPU counts them all), and waits until it
// answers an INVITE for an unknown number with 404.
func (s *stack) startKamailio(ctx context.Context, ip netip.Addr) error {
	if _, err := exec.LookPath(kamailioBin); err != nil {
		return fmt.Errorf("kamailio not found (run scripts/install-deps.sh kamailio-redis): %w", err)
	}
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules/ndb_redis.so")
	if len(mods) == 0 {
		return fmt.Errorf("kamailio's ndb_redis module not found (run scripts/install-deps.sh kamailio-redis)")
	}
	port, err := freeSIPPort(ip)
	if err != nil {
		return err
	}
	s.kamAddr = netip.AddrPortFrom(ip, uint16(port))
	rip, rport, err := net.SplitHostPort(s.redisAddr)
	if err != nil {
		return err
	}
	cfg := filepath.Join(s.o.Scenarios, "..", "reference", "kamailio.cfg")
	s.kamailio, err = s.procs.start("kamailio", s.dir, s.dir, nil, kamailioBin,
		"-f", cfg, "-DD", "-E", "-l", "udp:"+s.kamAddr.String(), "-n", strconv.Itoa(s.o.KamailioChildren),
		"-m", "512", "-M", "16", "-Y", s.dir, "-w", s.dir,
		"-A", fmt.Sprintf(`REDIS_SERVER="name=ref;addr=%s;port=%s"`, rip, rport))
	if err != nil {
		return err
	}
	return waitUntil(ctx, s.kamailio, 10*time.Second, "kamailio on "+s.kamAddr.String(), func() bool {
		return probe404(s.kamAddr)
	})
}

// probe404 sends one INVITE for a number no workspace owns and reports
// whether a 404 came back.
func probe404(dst netip.AddrPort) bool {
	c, err := net.Dial("udp", dst.String())
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	id := randomToken()[:12]
	msg := "INVITE sip:+10000000000@" + dst.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + id +
		"\r\nFrom: <sip:probe@" + local + ">;tag=" + id + "\r\nTo: <sip:+10000000000@" + dst.String() + ">\r\nCall-ID: " + id +
		"\r\nCSeq: 1 INVITE\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 404")
}

// refKeys writes what the edge's routing map holds, as the reference
// config reads it: ref:number:<number> -> workspace id for every number,
// ref:workspace:<id> -> its SIPp service's URI (the one provision gave
// the workspace).
func refKeys(ctx context.Context, s *stack, wss []workspace) error {
	c := redis.NewClient(&redis.Options{Addr: s.redisAddr})
	defer c.Close()
	p := c.Pipeline()
	for i, w := range wss {
		svc := s.services[i%len(s.services)]
		p.Set(ctx, "ref:workspace:"+w.id, "sip:agent@"+svc.addr.String(), 0)
		for _, n := range w.numbers {
			p.Set(ctx, "ref:number:"+n, w.id, 0)
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("write the reference's keys to redis %s: %w", s.redisAddr, err)
	}
	return nil
}

// redisGets is the number of GET commands Redis has served
// (INFO commandstats), to check the reference's two lookups per call.
func redisGets(ctx context.Context, addr string) (int, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, fmt.Errorf("redis %s info commandstats: %w", addr, err)
	}
	for _, l := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_get:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest+",", ',')])
			return n, nil
		}
	}
	return 0, nil
}
