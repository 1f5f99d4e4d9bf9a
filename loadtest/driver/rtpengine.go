package main

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"time"
)

// startRTPEngine runs rtpengine (Debian's rtpengine-daemon) in userspace
// only (--table=-1: no kernel forwarding, as the edge), in the
// foreground, its media on ip (RTP ports from the top of the edge's range
// down, so they never meet), ng on a free UDP port of ip, and waits until
// it answers ng ping.
func (s *stack) startRTPEngine(ctx context.Context, ip netip.Addr) error {
	bin, err := exec.LookPath("rtpengine")
	if err != nil {
		return fmt.Errorf("rtpengine not found (run scripts/install-deps.sh rtpengine): %w", err)
	}
	port, err := freePort("udp", ip)
	if err != nil {
		return err
	}
	s.ngAddr = netip.AddrPortFrom(ip, uint16(port)).String()
	s.rtpengine, err = s.procs.start("rtpengine", s.dir, s.dir, nil, bin,
		"--table=-1", "--foreground", "--log-stderr", "--log-level=4", "--config-file=none",
		"--interface="+ip.String(), "--listen-ng="+s.ngAddr, "--port-min=40000", "--port-max=49999",
		"--num-threads="+strconv.Itoa(s.o.RTPEngineThreads), "--delete-delay=0", "--timeout=120")
	if err != nil {
		return err
	}
	ng, err := newNGClient(s.ngAddr)
	if err != nil {
		return err
	}
	ng.timeout, ng.tries = 200*time.Millisecond, 1
	defer ng.Close()
	return waitUntil(ctx, s.rtpengine, 10*time.Second, "rtpengine ng on "+s.ngAddr, func() bool {
		return ng.ping(ctx) == nil
	})
}
