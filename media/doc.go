// Package media anchors the RTP of every call the edge bridges (design
// section 7): it allocates one UDP port per leg, relays RTP between the trunk
// leg (A) and the service leg (B), and does the few media-plane jobs a
// signalling-only B2BUA cannot.
//
// What it provides:
//
//   - PortPool: pairs of an even RTP port and the odd RTCP port above it
//     from a configured range (RFC 3550 section 11), handed out round-robin
//     so a released pair is not reused at once.
//   - SDP: ParseSDP reduces an RFC 4566 body to the few facts the edge needs
//     (every m-line, and of the audio stream: connection address, port,
//     profile, payload formats, telephone-event, direction, ptime, a=crypto,
//     rtcp-mux and a=rtcp), leniently about line order; ExtractSDP takes the
//     SDP part of a multipart body; SelectAudio picks the stream a trunk's
//     media_encryption allows; Negotiate applies the RFC 3264 offer/answer
//     rules for PCMU, PCMA and telephone-event (RFC 4733), and for G.722
//     and Opus (RFC 7587: opus/48000/2 on a dynamic payload type, the
//     offer's payload type and fmtp kept) when asked (PassthroughCodecs);
//     BuildSDP writes the edge's own offers and answers (rtpmap channels
//     and fmtp included), mirroring the offer's m-lines;
//     AnswerDirection gives the hold/resume direction of an answer (RFC 3264
//     section 8.4, RFC 6337).
//   - SRTP (package media/srtp): SDES keys per leg (Session.OfferCrypto,
//     SetCrypto), decrypted in place before the source check, encrypted
//     into a per-leg buffer; failures dropped and counted (srtp_auth).
//   - RTCP (package media/rtcp): terminated per leg, see rtcp_leg.go and
//     Session.SetLegOptions; Stats carry what the peers reported.
//   - Latching: symmetric RTP (RFC 4961); LegOptions.Latching learn latches
//     a peer with a private or unreachable SDP address onto its first
//     packet; a new address or port in a re-offer moves the stream.
//   - G.711: PCMU and PCMA encoding, decoding and direct transcoding by table.
//   - Session: the relay of one call. Symmetric RTP latching (RFC 4961),
//     per-leg payload type mapping for the codec and RFC 4733 events,
//     in-place PCMU<->PCMA transcoding when the legs chose different laws,
//     G.722 and Opus passed through untouched (never transcoded; Opus may
//     change payload type between legs, SetRemoteCodec), and SSRC, sequence
//     numbers and timestamps passed through untouched. Jitter and RTCP
//     sender timestamps use the peer codec's RTP clock (48 kHz for Opus).
//     The forward path does not allocate. Per-leg statistics follow RFC 3550
//     appendix A (loss, interarrival jitter); a media timeout reports dead
//     calls and is suspended while a call is on hold.
//   - Tap: a seam for synchronous audio processing. When a Tap is set, every
//     audio frame is decoded to linear PCM and handed to it before it is
//     sent on, and the Tap may replace the samples. (The operator mixer does
//     not use it: it runs on its own clock.)
//   - Operators (design section 8): OperatorEngine.Join makes an operator's
//     WebRTC leg on a Session from the browser's offer, and Session runs a
//     mixer while operators are on the call. See "Operator legs" below.
//   - Poller (poller_linux.go, socket_linux.go): the sessions' RTP and RTCP
//     sockets are taken out of Go's netpoller and read by pollers, one
//     for every four sessions (at least one per core), each waiting on an
//     epoll set of its own and handling one datagram per ready socket per
//     round: no goroutine or read buffer per socket, and a flooded socket
//     gets no more turns than a quiet one. Elsewhere than Linux a
//     goroutine reads each socket.
//   - Manager: owns the PortPool and the pollers, creates and tracks
//     sessions, and exports Prometheus metrics (namespace "edge",
//     subsystem "media").
//
// A typical call, driven by the SIP layer:
//
//	sess, err := mgr.NewSession(callID)       // two ports bound
//	go sess.Run(ctx)                          // relay until ctx ends or Close
//	offer, err := media.ParseSDP(trunkInvite.Body)
//	ans, err := media.Negotiate(offer, media.DefaultCodecs()) // ErrNoCommonCodec: 488
//	sess.SetRemoteCodec(media.LegA, offer.RTPAddr(), ans.Codec, ans.TelephoneEventPT)
//	// ... offer to the service with BuildSDP(sess.LocalAddr(media.LegB) ...),
//	// SetRemoteCodec(media.LegB, ...) from its answer, answer the trunk with BuildSDP.
//	<-sess.TimedOut()                         // media timeout: hang up
//	stats := sess.Stats()                     // into call.ended
//	sess.Close()                              // ports back to the pool
//
// RTCP is never relayed: each leg's RTCP is terminated at the edge, which
// sends that leg's peer reports of its own (Config.RTCPInterval).
//
// # Operator legs
//
// The API the HTTP signalling (sip/operators) builds on:
//
//	eng, err := media.NewOperatorEngine(webrtcCfg, reg, log) // binds the ICE port
//	defer eng.Close()
//	op, answerSDP, err := eng.Join(ctx, sess, accountID, media.ModeListen, offerSDP)
//	// 201 with answerSDP; Location names op.ID()
//	op.SetMode(media.ModeWhisper)   // PATCH {"mode"}
//	op.Mute(true)
//	<-op.Done()                     // browser gone (ICE failed, DTLS closed), call ended, or Close
//	op.Close()                      // DELETE; idempotent
//	sess.Operators()                // who is on the call; op.Stats() for each
//
// Errors of Join, for the one status table of the HTTP layer: ErrBadOffer
// (400: over MaxOfferSize, not SDP, no ICE credentials or DTLS fingerprint;
// an oversize offer also matches ErrSDPTooLarge), ErrNoPCMU (422: no active
// audio stream offering PCMU/8000), ErrInvalidMode (400; ParseOperatorMode
// checks a query parameter first), ErrClosed (the call ended: 404, it is no
// longer there). Join does no authorization: the caller checks the
// workspace, role and operator configuration first.
//
// WebRTC: audio is PCMU (payload type 0) plus telephone-event, one
// sendrecv audio track whatever the mode, so that switching modes needs no
// renegotiation. DTLS-SRTP as WebRTC requires (RFC 8827). ICE runs on one
// UDP port for every operator (WebRTCConfig.ICEPort, default 8443, to be
// set from EDGE_ICE_PORT), demultiplexed by ICE username; with
// WebRTCConfig.PublicIPs (EDGE_PUBLIC_IP) the host candidates announce
// those addresses instead of the local ones (1:1 NAT). Answers are not
// trickled: Join returns once ICE gathering is complete, so one POST and
// its 201 carry the whole negotiation. mDNS candidates are neither
// gathered nor resolved; a browser that hides its address behind mDNS is
// still reached through the peer-reflexive candidate its checks create.
// A browser that vanishes is noticed by ICE consent (RFC 7675) within
// ICEDisconnectedTimeout + ICEFailedTimeout (15 s by default); a browser
// that closes cleanly at once (DTLS close_notify).
//
// Mixing: while at least one operator is on a call, the session's mixer
// runs every 20 ms on its own clock, so an operator is heard even while
// caller and agent are silent. It pops one frame from each party's jitter
// buffer (16-bit linear PCM; legs in PCMA are transcoded) and gives each
// party the saturated sum of what its mode allows:
//
//	hears ->       caller   agent   operator j
//	caller (A)       -       yes      yes
//	agent (B)       yes       -       yes
//	listen op i      no       no      no
//	whisper op i     no      yes      yes (i != j)
//	barge op i      yes      yes      yes (i != j)
//
// Several operators hear each other exactly when they are heard on the call
// (whisper or barge): a listening operator is heard by nobody, as its mode
// says. Muting an operator makes it heard by nobody in any mode. Every gain
// change (join, leave, mute, mode switch) ramps linearly over one frame,
// so nothing clicks.
//
// The mixer sends a leg's stream only while some operator is audible to
// that leg (or fading out); the rest of the time that direction is the
// plain relay, untouched and without added delay, and the mixer only
// listens (a listening operator changes nothing for caller and agent).
// While it sends a leg's stream it adds at most one frame of delay plus
// the jitter it absorbs (at most 80 ms). The stream a leg receives stays
// one RTP stream throughout: the same SSRC, sequence numbers and
// timestamps that continue across relay -> mix -> relay. When both sides
// talk continuously the mixed frames even carry the source's own numbers,
// and once the last operator has left, packets pass byte for byte again
// (dropping at most realignWindow late packets at the switch).
//
// Closing a Session closes its operators. Metrics (namespace "edge",
// subsystem "media"): operators_active, operator_joins_total{result},
// mixer_frames_total, mixer_late_frames_total (frames produced behind
// schedule), mixer_underruns_total, mixer_overflow_frames_total.
package media
