package media

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voiceedge/edge/media/srtp"
)

// Session relays the RTP of one call between its trunk leg (A) and its
// service leg (B), each on its own port from the pool. Create it with
// Manager.NewSession, configure each leg with SetRemote as the SDP of that
// side becomes known, run it with Run, and Close it when the call ends.
// Its methods are safe for concurrent use.
type Session struct {
	callID  string
	cfg     Config
	pool    *PortPool
	metrics *metrics
	log     *slog.Logger
	epoch   time.Time // time origin of the counters (monotonic)

	legs     [2]*leg
	fwd      [2]*forwarder // fwd[l] relays what leg l receives
	poll     *poller       // reads the legs' sockets (poller_linux.go)
	reads    []*pollee     // the sockets it reads, from start to Close
	tap      atomic.Pointer[tapHolder]
	mix      atomic.Pointer[mixer] // set while operators are on the call
	dtmfHook atomic.Pointer[DTMFHook]

	mixMu sync.Mutex  // guards mixer and ops
	mixer *mixer      // the running mixer, nil without operators
	ops   []*Operator // operators on the call

	secMu sync.Mutex // serialises OfferCrypto and SetCrypto

	hold        atomic.Bool
	holdAudio   atomic.Bool   // the caller hears hold audio (hold.go)
	resumed     atomic.Int64  // nanoseconds since epoch of Run or the last SetHold(false)
	clk         clocks        // RTCP reports and the media timeout (timeout.go)
	unwatch     func() bool   // ends Start's watch of its context
	timedOut    chan struct{} // closed on media timeout
	timeoutOnce sync.Once
	timeoutHook atomic.Pointer[func()]

	mu      sync.Mutex
	running bool
	closed  bool
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
	onClose func(*Session)
}

// newSession allocates the two legs' ports. On error nothing is held.
func newSession(callID string, cfg Config, pool *PortPool, poll *poller, m *metrics, log *slog.Logger) (*Session, error) {
	s := &Session{
		callID:   callID,
		cfg:      cfg,
		pool:     pool,
		poll:     poll,
		metrics:  m,
		log:      log,
		epoch:    time.Now(),
		timedOut: make(chan struct{}),
		closing:  make(chan struct{}),
	}
	for _, id := range []Leg{LegA, LegB} {
		ports, err := pool.allocate()
		if err != nil {
			s.releasePorts()
			return nil, fmt.Errorf("allocate rtp port for leg %s of call %s: %w", id, callID, err)
		}
		l := &leg{id: id, ports: ports, sock: ports.rtp, local: pool.addr(ports.port),
			rtcp: newRTCPLeg(ports.rtcp, pool.addr(ports.port+1)), onLatch: m.countLatch}
		s.legs[id] = l
	}
	s.fwd[LegA] = newForwarder(s, s.legs[LegA], s.legs[LegB])
	s.fwd[LegB] = newForwarder(s, s.legs[LegB], s.legs[LegA])
	return s, nil
}

// CallID returns the call the session belongs to.
func (s *Session) CallID() string { return s.callID }

// LocalAddr returns the local address and port of a leg's RTP socket; the
// port goes into the SDP sent to that leg's peer (with the edge's public
// address when the socket is bound to a wildcard or a private address).
func (s *Session) LocalAddr(l Leg) netip.AddrPort {
	if !l.valid() {
		return netip.AddrPort{}
	}
	return s.legs[l].local
}

// SetRemote configures a leg from the SDP of its peer: addr is where the
// peer wants RTP (Description.RTPAddr; an invalid address, for a host name
// in c=, only with LatchLearn), codecPT the payload type of the negotiated
// static codec, PCMU (0), PCMA (8) or G.722 (9) (Opus, on a dynamic
// type, needs SetRemoteCodec), and dtmfPT its telephone-event payload type
// or NoPayloadType. Call it again on every new offer or answer
// (re-INVITE), after SetLegOptions; a latched source survives when the
// address and port are unchanged, a new one moves the stream. Until
// both legs are set, packets are received and counted but not relayed.
func (s *Session) SetRemote(l Leg, addr netip.AddrPort, codecPT, dtmfPT uint8) error {
	if !Relayable(codecPT) {
		return fmt.Errorf("set remote of call %s leg %s: %w: payload type %d", s.callID, l, ErrUnsupportedCodec, codecPT)
	}
	c := staticFormats[codecPT].codec()
	c.PT = codecPT
	return s.SetRemoteCodec(l, addr, c, dtmfPT)
}

// SetRemoteCodec is SetRemote with the negotiated codec (Answer.Codec)
// rather than its payload type: it also takes Opus, whose payload type is
// dynamic (RFC 7587). The relay passes G.722 and Opus through untouched
// between legs that both use the same codec, rewriting only the payload
// type when the legs' differ; its statistics (jitter, RTCP timestamps)
// follow the codec's RTP clock (48 kHz for Opus).
func (s *Session) SetRemoteCodec(l Leg, addr netip.AddrPort, c Codec, dtmfPT uint8) error {
	if !l.valid() {
		return fmt.Errorf("set remote of call %s: %w: %d", s.callID, ErrInvalidLeg, l)
	}
	if !c.relayable() {
		return fmt.Errorf("set remote of call %s leg %s: %w: payload type %d", s.callID, l, ErrUnsupportedCodec, c.PT)
	}
	codecPT := c.PT
	if dtmfPT != NoPayloadType && (dtmfPT > 127 || dtmfPT == codecPT) {
		return fmt.Errorf("set remote of call %s leg %s: %w: telephone-event payload type %d",
			s.callID, l, ErrUnsupportedCodec, dtmfPT)
	}
	switch {
	case addr.Addr().IsMulticast():
		return fmt.Errorf("set remote of call %s leg %s: %w: %s", s.callID, l, ErrInvalidRemote, addr)
	case !addr.Addr().IsValid() && !s.legs[l].learn.Load():
		// A host name in c= (no address): only learning can find the peer.
		return fmt.Errorf("set remote of call %s leg %s: %w: %w: no address to send to", s.callID, l, ErrInvalidRemote, ErrUnreachableRemote)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("set remote of call %s: %w", s.callID, ErrClosed)
	}
	s.legs[l].setRemote(netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), c, dtmfPT)
	return nil
}

// SetHold tells the session whether the call is on hold (an offer or answer
// with sendonly, inactive or c=0.0.0.0, Description.OnHold). While on hold
// the media timeout is suspended, since a held party may legitimately send
// nothing; leaving hold restarts the timeout period. Relaying is not
// affected: music on hold flows.
func (s *Session) SetHold(on bool) {
	if !on {
		s.resumed.Store(int64(time.Since(s.epoch)))
	}
	if s.hold.Swap(on) == on {
		return
	}
	s.checkTimeout() // timeout.go
}

// TimedOut returns a channel that is closed when the running session has
// received no RTP on either leg for Config.MediaTimeout (outside hold). The
// session keeps running: the SIP layer hangs up and calls Close. OnTimeout
// (timeout.go) is the same event as a callback, for a caller that holds no
// goroutine to wait on the channel.
func (s *Session) TimedOut() <-chan struct{} { return s.timedOut }

// Stats returns the session's counters so far.
func (s *Session) Stats() SessionStats {
	return SessionStats{
		CallID: s.callID,
		A:      s.legs[LegA].snapshot(s.epoch),
		B:      s.legs[LegB].snapshot(s.epoch),
	}
}

// Run relays until ctx ends or the session is closed, then closes it. It
// returns ErrClosed if the session was closed before Run, and
// ErrAlreadyRunning on a second call.
func (s *Session) Run(ctx context.Context) error {
	if err := s.start(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return s.Close()
	case <-s.closing:
		return nil
	}
}

// Start is Run without waiting: it starts the relay and returns, and the
// session closes when ctx ends (or Close is called). A call's session is
// started so: no goroutine of its own waits for its end.
func (s *Session) Start(ctx context.Context) error {
	if err := s.start(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Lock()
	s.unwatch = stop
	s.mu.Unlock()
	return nil
}

func (s *Session) start() error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("run media of call %s: %w", s.callID, ErrClosed)
	case s.running:
		s.mu.Unlock()
		return fmt.Errorf("run media of call %s: %w", s.callID, ErrAlreadyRunning)
	}
	if err := s.startReads(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("run media of call %s: %w", s.callID, err)
	}
	s.running = true
	s.resumed.Store(int64(time.Since(s.epoch)))
	s.startClocks() // timeout.go
	s.mu.Unlock()
	return nil
}

// Close stops the relay, waits for its goroutines and returns both ports to
// the pool. It is idempotent and safe whether or not Run was called.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	unwatch := s.unwatch
	s.mu.Unlock()
	if unwatch != nil {
		unwatch() // Start's watch of its context
	}

	s.stopClocks()   // timeout.go: no report after this
	s.stopReads()    // no datagram is handled after this
	s.releasePorts() // returns the sockets
	s.wg.Wait()      // mixer, DTMF and hold audio
	s.closeOperators()
	if s.onClose != nil {
		s.onClose(s)
	}
	return nil
}

// startReads has the poller read the legs' RTP sockets (the forwarders)
// and RTCP sockets; with s.mu held.
func (s *Session) startReads() error {
	for _, id := range []Leg{LegA, LegB} {
		l := s.legs[id]
		// Short of the buffer's end: a datagram that fills it may have been
		// truncated (forwarder.receive drops it).
		pe, err := s.poll.add(l.sock, readBufferSize-srtp.Overhead, s.fwd[id].receive)
		if err != nil {
			s.stopReads()
			return err
		}
		s.reads = append(s.reads, pe)
		pe, err = s.poll.add(l.rtcp.sock, rtcpReadSize, s.rtcpReceiver(l))
		if err != nil {
			s.stopReads()
			return err
		}
		s.reads = append(s.reads, pe)
	}
	return nil
}

// stopReads ends the reads of startReads, waiting for a handler running.
func (s *Session) stopReads() {
	for _, pe := range s.reads {
		s.poll.remove(pe)
	}
	s.reads = nil
}

// releasePorts returns the legs' sockets to the pool.
func (s *Session) releasePorts() {
	for _, l := range s.legs {
		if l != nil {
			s.pool.release(l.ports)
		}
	}
}
