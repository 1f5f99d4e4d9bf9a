package media

import "encoding/binary"

// rtpHeaderLen is the fixed RTP header length (RFC 3550 section 5.1).
const rtpHeaderLen = 12

// rtpHeader holds the fields of an RTP packet the relay uses, parsed in
// place at fixed offsets so that the forward path does not allocate.
type rtpHeader struct {
	pt        uint8
	marker    bool
	seq       uint16
	timestamp uint32
	ssrc      uint32
	// payload is pkt[payloadStart:payloadEnd]: after the CSRC list and the
	// header extension, before the padding.
	payloadStart int
	payloadEnd   int
}

// parseRTPHeader parses the RTP header of pkt (RFC 3550 section 5.1). It
// reports false for anything that is not a well-formed RTP packet: shorter
// than 12 bytes, version other than 2, a CSRC list, extension (section
// 5.3.1) or padding running past the end, or a payload type in 72-76, which
// is RTCP sharing the port (RFC 5761 section 4).
func parseRTPHeader(pkt []byte) (rtpHeader, bool) {
	if len(pkt) < rtpHeaderLen || pkt[0]>>6 != 2 {
		return rtpHeader{}, false
	}
	h := rtpHeader{
		pt:        pkt[1] & 0x7F,
		marker:    pkt[1]&0x80 != 0,
		seq:       binary.BigEndian.Uint16(pkt[2:4]),
		timestamp: binary.BigEndian.Uint32(pkt[4:8]),
		ssrc:      binary.BigEndian.Uint32(pkt[8:12]),
	}
	if h.pt >= 72 && h.pt <= 76 {
		return rtpHeader{}, false
	}
	off := rtpHeaderLen + 4*int(pkt[0]&0x0F)
	if len(pkt) < off {
		return rtpHeader{}, false
	}
	if pkt[0]&0x10 != 0 { // header extension: profile, length in 32-bit words
		if len(pkt) < off+4 {
			return rtpHeader{}, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:off+4]))
		if len(pkt) < off {
			return rtpHeader{}, false
		}
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 { // padding: the last octet counts the padding octets
		pad := int(pkt[end-1])
		if pad == 0 || off+pad > end {
			return rtpHeader{}, false
		}
		end -= pad
	}
	h.payloadStart, h.payloadEnd = off, end
	return h, true
}

// setPayloadType rewrites the payload type of pkt in place, keeping the
// marker bit.
func setPayloadType(pkt []byte, pt uint8) {
	pkt[1] = pkt[1]&0x80 | pt&0x7F
}

// putRTPHeader writes a 12-byte RTP header (version 2, no padding,
// extension, CSRC or marker) into pkt.
func putRTPHeader(pkt []byte, pt uint8, seq uint16, ts, ssrc uint32) {
	pkt[0] = 2 << 6
	pkt[1] = pt & 0x7F
	binary.BigEndian.PutUint16(pkt[2:4], seq)
	binary.BigEndian.PutUint32(pkt[4:8], ts)
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
}

// setStreamFields rewrites the sequence number, timestamp and SSRC of pkt
// in place.
func setStreamFields(pkt []byte, seq uint16, ts, ssrc uint32) {
	binary.BigEndian.PutUint16(pkt[2:4], seq)
	binary.BigEndian.PutUint32(pkt[4:8], ts)
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
}
