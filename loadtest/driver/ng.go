package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// ngClient speaks rtpengine's ng control protocol: each command is
// "<cookie> <bencoded dictionary>" in one UDP datagram and its reply is
// "<cookie> <bencoded dictionary>" with "result": "ok" (or "error" and
// "error-reason"). Commands are retried on timeout with the same cookie,
// which rtpengine answers from its cache. One command is in flight at a
// time (callers may share the client).
type ngClient struct {
	mu      sync.Mutex
	conn    *net.UDPConn
	timeout time.Duration // per attempt
	tries   int
}

// errNG is an error reply of rtpengine.
var errNG = errors.New("rtpengine ng error")

// newNGClient connects to rtpengine's ng address (ip:port).
func newNGClient(addr string) (*ngClient, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("ng address %s: %w", addr, err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("dial ng %s: %w", addr, err)
	}
	return &ngClient{conn: c, timeout: 2 * time.Second, tries: 3}, nil
}

// Close closes the socket.
func (c *ngClient) Close() error { return c.conn.Close() }

// do sends one command and returns rtpengine's reply dictionary. Replies
// of other cookies (late answers to an earlier try) are skipped.
func (c *ngClient) do(ctx context.Context, cmd map[string]any) (map[string]any, error) {
	body, err := bencode(nil, cmd)
	if err != nil {
		return nil, err
	}
	ck := make([]byte, 8)
	_, _ = rand.Read(ck)
	cookie := hex.EncodeToString(ck)
	msg := append([]byte(cookie+" "), body...)
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := make([]byte, 65536)
	for try := 0; try < c.tries; try++ {
		if _, err := c.conn.Write(msg); err != nil {
			return nil, fmt.Errorf("ng %v: %w", cmd["command"], err)
		}
		deadline := time.Now().Add(c.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.conn.SetReadDeadline(deadline)
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				break // timed out: try again
			}
			got, rest, ok := strings.Cut(string(buf[:n]), " ")
			if !ok || got != cookie {
				continue
			}
			v, err := bdecode([]byte(rest))
			if err != nil {
				return nil, fmt.Errorf("ng %v reply: %w", cmd["command"], err)
			}
			reply, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("ng %v reply: %w: not a dictionary", cmd["command"], errBencode)
			}
			if r, _ := reply["result"].(string); r != "ok" {
				return reply, fmt.Errorf("ng %v: %w: %v %v", cmd["command"], errNG, reply["result"], reply["error-reason"])
			}
			return reply, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("ng %v: no reply from %s after %d tries", cmd["command"], c.conn.RemoteAddr(), c.tries)
}

// offer hands rtpengine the caller's SDP; the reply's SDP is what the
// callee is to be given (rtpengine's address for the callee side).
func (c *ngClient) offer(ctx context.Context, callID, fromTag, sdp string) (string, error) {
	r, err := c.do(ctx, map[string]any{"command": "offer", "call-id": callID, "from-tag": fromTag, "sdp": sdp,
		"replace": []string{"origin", "session-connection"}})
	if err != nil {
		return "", err
	}
	s, _ := r["sdp"].(string)
	return s, nil
}

// answer hands rtpengine the callee's SDP; the reply's SDP is what the
// caller is to be given (rtpengine's address for the caller side).
func (c *ngClient) answer(ctx context.Context, callID, fromTag, toTag, sdp string) (string, error) {
	r, err := c.do(ctx, map[string]any{"command": "answer", "call-id": callID, "from-tag": fromTag, "to-tag": toTag, "sdp": sdp,
		"replace": []string{"origin", "session-connection"}})
	if err != nil {
		return "", err
	}
	s, _ := r["sdp"].(string)
	return s, nil
}

// delete ends the call in rtpengine.
func (c *ngClient) delete(ctx context.Context, callID, fromTag string) error {
	_, err := c.do(ctx, map[string]any{"command": "delete", "call-id": callID, "from-tag": fromTag})
	return err
}

// ping checks that rtpengine answers (reply "pong").
func (c *ngClient) ping(ctx context.Context) error {
	r, err := c.do(ctx, map[string]any{"command": "ping"})
	if err != nil && r["result"] == "pong" {
		return nil
	}
	return err
}
