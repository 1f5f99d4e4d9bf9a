package srtp

import (
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/srtp/v3"
)

// replayWindow is the replay protection window, in packets (RFC 3711
// section 3.3.2 recommends at least 64).
const replayWindow = 128

// profile maps a suite to pion's protection profile.
func (s Suite) profile() (pion.ProtectionProfile, error) {
	switch s {
	case AESCM128HMACSHA1_80:
		return pion.ProtectionProfileAes128CmHmacSha1_80, nil
	case AESCM128HMACSHA1_32:
		return pion.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("%w: %d", ErrUnknownSuite, s)
}

func newContext(c Crypto, opts ...pion.ContextOption) (*pion.Context, error) {
	p, err := c.Suite.profile()
	if err != nil {
		return nil, err
	}
	ctx, err := pion.CreateContext(c.key[:16], c.key[16:], p, opts...)
	if err != nil {
		return nil, fmt.Errorf("srtp: create context: %w", err)
	}
	return ctx, nil
}

// Decrypter authenticates and decrypts what a peer sends with its key (the
// crypto of its SDP).
type Decrypter struct {
	ctx    *pion.Context
	crypto Crypto
	rtpHdr rtp.Header
	rtcpH  rtcp.Header
}

// NewDecrypter returns a Decrypter for the peer's crypto.
func NewDecrypter(c Crypto) (*Decrypter, error) {
	ctx, err := newContext(c, pion.SRTPReplayProtection(replayWindow), pion.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, err
	}
	return &Decrypter{ctx: ctx, crypto: c}, nil
}

// Crypto returns the crypto the Decrypter was made with.
func (d *Decrypter) Crypto() Crypto { return d.crypto }

// RTP authenticates and decrypts the SRTP packet pkt in place and returns
// the plain RTP packet, a prefix of pkt. It returns ErrAuth for a packet
// that fails authentication or replays one already seen, ErrMalformed for
// one that is not SRTP.
func (d *Decrypter) RTP(pkt []byte) ([]byte, error) {
	if len(pkt) < 12+d.crypto.Suite.tagLen() {
		return nil, ErrMalformed
	}
	out, err := d.ctx.DecryptRTP(pkt, pkt, &d.rtpHdr)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// RTCP authenticates and decrypts the SRTCP packet pkt in place and
// returns the plain compound RTCP packet, a prefix of pkt.
func (d *Decrypter) RTCP(pkt []byte) ([]byte, error) {
	if len(pkt) < 8+4+10 {
		return nil, ErrMalformed
	}
	out, err := d.ctx.DecryptRTCP(pkt, pkt, &d.rtcpH)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Encrypter protects what the edge sends to a peer with the edge's key (the
// crypto of the edge's SDP).
type Encrypter struct {
	ctx    *pion.Context
	crypto Crypto
	rtpHdr rtp.Header
	rtcpH  rtcp.Header
}

// NewEncrypter returns an Encrypter for the edge's crypto.
func NewEncrypter(c Crypto) (*Encrypter, error) {
	ctx, err := newContext(c)
	if err != nil {
		return nil, err
	}
	return &Encrypter{ctx: ctx, crypto: c}, nil
}

// Crypto returns the crypto the Encrypter was made with.
func (e *Encrypter) Crypto() Crypto { return e.crypto }

// RTP encrypts the RTP packet pkt into dst, which needs len(pkt)+Overhead
// bytes of capacity (dst may be pkt itself), and returns the SRTP packet.
func (e *Encrypter) RTP(dst, pkt []byte) ([]byte, error) {
	if cap(dst) < len(pkt)+Overhead {
		return nil, fmt.Errorf("srtp: encrypt: buffer of %d bytes for a %d-byte packet", cap(dst), len(pkt))
	}
	out, err := e.ctx.EncryptRTP(dst[:len(pkt)], pkt, &e.rtpHdr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, nil
}

// RTCP encrypts the compound RTCP packet pkt into dst (capacity
// len(pkt)+Overhead; dst may be pkt) and returns the SRTCP packet.
func (e *Encrypter) RTCP(dst, pkt []byte) ([]byte, error) {
	if cap(dst) < len(pkt)+Overhead {
		return nil, fmt.Errorf("srtp: encrypt: buffer of %d bytes for a %d-byte packet", cap(dst), len(pkt))
	}
	out, err := e.ctx.EncryptRTCP(dst[:len(pkt)], pkt, &e.rtcpH)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, nil
}

// classify maps pion's errors to the package's. Whatever keeps a packet
// from being authenticated (a bad tag, a replay, a header pion refuses) is
// ErrAuth; the sentinel is returned bare so a flood of forgeries costs no
// allocation beyond pion's own.
func classify(err error) error {
	_ = err // pion's error texts carry SSRCs and indexes: not worth a log line each
	return ErrAuth
}
