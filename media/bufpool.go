package media

import (
	"sync"

	"github.com/voiceedge/edge/media/rtcp"
	"github.com/voiceedge/edge/media/srtp"
)

// datagrams holds the read buffers of a session's readers (the two
// relays' and the two RTCP readers'): each reader takes one when it starts
// and gives it back when its socket closes, so that a call's set-up does
// not allocate, and the collector does not sweep, 8 KiB of buffers a call.
// A reader is its buffer's only user, and nothing it reads outlives the
// packet's handling (relayed or parsed in place).
var datagrams = sync.Pool{New: func() any { return new([readBufferSize]byte) }}

func getDatagram() *[readBufferSize]byte { return datagrams.Get().(*[readBufferSize]byte) }

func putDatagram(b *[readBufferSize]byte) { datagrams.Put(b) }

// An RTCP reader's buffer (a compound packet, its SRTCP trailer and one
// byte to see truncation) fits a datagram buffer: a compile-time check.
var _ [readBufferSize - (rtcp.MaxPacketSize + srtp.Overhead + 1)]struct{}
