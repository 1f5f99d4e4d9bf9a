// Package media anchors the RTP of every call the edge bridges (design
// section 7): it allocates one UDP port per leg, relays RTP between the trunk
// leg (A) and the service leg (B), and does the few media-plane jobs a
// signalling-only B2BUA cannot.
//
// What it provides:
//
//   - PortPool: even RTP ports from a configured range (RFC 3550 section 11),
//     handed out round-robin so a released port is not reused at once.
//   - SDP: ParseSDP reduces an RFC 4566 body to the few facts the edge needs
//     (connection address, audio port, payload formats, telephone-event,
//     direction, ptime); Negotiate applies the RFC 3264 offer/answer rules
//     for PCMU, PCMA and telephone-event (RFC 4733); BuildSDP writes the
//     edge's own offers and answers; AnswerDirection gives the hold/resume
//     direction of an answer (RFC 3264 section 8.4, RFC 6337).
//   - G.711: PCMU and PCMA encoding, decoding and direct transcoding by table.
//   - Session: the relay of one call. Symmetric RTP latching (RFC 4961),
//     per-leg payload type mapping for the codec and RFC 4733 events,
//     in-place PCMU<->PCMA transcoding when the legs chose different laws,
//     and SSRC, sequence numbers and timestamps passed through untouched.
//     The forward path does not allocate. Per-leg statistics follow RFC 3550
//     appendix A (loss, interarrival jitter); a media timeout reports dead
//     calls and is suspended while a call is on hold.
//   - Tap: the seam for the operator mixer (design section 8). When a Tap is
//     set, every audio frame is decoded to linear PCM and handed to it before
//     it is sent on, and the Tap may replace the samples.
//   - Manager: owns the PortPool, creates and tracks sessions, and exports
//     Prometheus metrics (namespace "edge", subsystem "media").
//
// A typical call, driven by the SIP layer:
//
//	sess, err := mgr.NewSession(callID)       // two ports bound
//	go sess.Run(ctx)                          // relay until ctx ends or Close
//	offer, err := media.ParseSDP(trunkInvite.Body)
//	ans, err := media.Negotiate(offer, media.DefaultCodecs()) // ErrNoCommonCodec: 488
//	sess.SetRemote(media.LegA, offer.RTPAddr(), ans.Codec.PT, ans.TelephoneEventPT)
//	// ... offer to the service with BuildSDP(sess.LocalAddr(media.LegB) ...),
//	// SetRemote(media.LegB, ...) from its answer, answer the trunk with BuildSDP.
//	<-sess.TimedOut()                         // media timeout: hang up
//	stats := sess.Stats()                     // into call.ended
//	sess.Close()                              // ports back to the pool
//
// RTCP is not relayed: the edge binds only the even RTP port of each pair.
package media
