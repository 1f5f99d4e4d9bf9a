package sip

import (
	"errors"
	"io"
	"net"

	"github.com/emiago/sipgo/sip"
)

// streamFilter wraps a TCP or TLS connection that sipgo reads, to do for
// streams what packetFilter does for datagrams. It frames the stream into
// messages with sipgo's own stream parser, so that its framing and
// sipgo's agree, and hands sipgo only the messages that parse and pass
// screen; the others are answered on the connection. A message that does
// not parse leaves no boundary to resynchronise on (RFC 3261 section
// 18.3): it is answered 400 (or 416) when its headers allow a response,
// and what is buffered is discarded (sipgo would close the connection and
// lose the answers to the messages before it). Keepalives between
// messages (RFC 5626 section 3.5.1) reach sipgo alone, as it expects.
//
// sipgo reads from one goroutine per connection, the only caller of Read.
type streamFilter struct {
	net.Conn
	s      *Server
	parser *sip.ParserStream
	buf    []byte
	in     []byte   // the message being framed: bytes parsed and unparsed
	out    [][]byte // what sipgo's next reads return, in order
	err    error    // returned once out is drained
}

func newStreamFilter(conn net.Conn, s *Server) *streamFilter {
	return &streamFilter{Conn: conn, s: s, parser: sip.NewParser().NewSIPStream(), buf: make([]byte, 64*1024)}
}

// Read returns the next bytes that passed the filter.
func (c *streamFilter) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.Conn.Read(c.buf)
		if n > 0 {
			c.feed(c.buf[:n])
		}
		if err != nil && c.err == nil {
			c.err = err
		}
	}
	n := copy(b, c.out[0])
	if n == len(c.out[0]) {
		c.out = c.out[1:]
	} else {
		c.out[0] = c.out[0][n:]
	}
	return n, nil
}

// feed frames data into messages and queues what passes.
func (c *streamFilter) feed(data []byte) {
	for len(c.in) == 0 && len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
		k := 0
		for k < len(data) && k < 4 && (data[k] == '\r' || data[k] == '\n') {
			k++
		}
		c.out = append(c.out, append([]byte(nil), data[:k]...))
		data = data[k:]
	}
	if len(data) == 0 {
		return
	}
	c.in = append(c.in, data...)
	_, _ = c.parser.Write(data)
	for len(c.in) > 0 {
		msg, n, err := c.parser.ParseNext()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil || n <= 0 || n > len(c.in) {
			c.refuseStream()
			return
		}
		raw := append([]byte(nil), c.in[:n]...)
		c.in = c.in[n:]
		if req, ok := msg.(*sip.Request); ok {
			// Each message is held to the per-source limit, as a datagram
			// is, not only the connection (requests of live dialogs pass).
			if why := c.s.sourceVerdict(addrIP(c.Conn.RemoteAddr())); why != "" {
				if _, live := c.s.dialogs.match(req); !hasToTag(req) || !live {
					c.s.metrics.dropped.WithLabelValues(string(why)).Inc()
					continue
				}
			}
			normalized := normalizeParams(req)
			rej := screen(req, raw)
			if rej == nil {
				rej = c.s.overBudget(req, addrIP(c.Conn.RemoteAddr()))
			}
			if rej != nil {
				c.s.answerStateless(req, rej, func(b []byte) error {
					_, err := c.Conn.Write(b)
					return err
				})
				continue
			}
			if normalized {
				raw = []byte(req.String())
			}
		}
		c.out = append(c.out, raw)
	}
}

// refuseStream answers the message that failed to parse when it can be
// answered, and discards what is buffered: the stream goes on with the
// next read. The connection stays open, since closing it would also lose
// the answers to the messages before, still being handled.
func (c *streamFilter) refuseStream() {
	c.s.metrics.dropped.WithLabelValues(string(ReasonMalformed)).Inc()
	if resp := rawRefusal(c.in); resp != nil {
		_, _ = c.Conn.Write(resp)
	}
	c.in = c.in[:0]
	c.parser.Reset()
}
