// Package srtp is SDES-keyed SRTP (RFC 3711, RFC 4568) for the legs of the
// edge's relay: the a=crypto attribute (parse, generate, write) and the
// per-packet transform, built on github.com/pion/srtp (no crypto of its
// own).
//
// Suites: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (RFC 4568
// section 6.2), the two every SDES carrier offers. Other suites in an offer
// are skipped (RFC 4568 section 7.1.1: the answerer picks one it supports);
// a known suite with a key that is not 30 bytes (16 key + 14 salt), an MKI,
// several keys, or session parameters (UNENCRYPTED_SRTP, KDR, ...) is
// refused as ErrBadCrypto: the edge supports none of them and a half-
// understood key is worse than a 488.
//
// Keys are master keys: a Crypto never prints them (String and LogValue
// redact), only Attribute writes the inline key, for the SDP body itself.
// Generate draws them from crypto/rand.
//
// The transform works in place on the relay's buffers: Decrypter.RTP and
// RTCP authenticate and decrypt a datagram within its own bytes; Encrypter
// writes into a buffer the caller owns and sizes with Overhead. Neither
// allocates per packet once a stream (SSRC) is known. A Decrypter or an
// Encrypter is not safe for concurrent use: each belongs to one goroutine
// or is guarded by its owner. Replay protection (RFC 3711 section 3.3.2)
// uses a 128-packet window.
package srtp
