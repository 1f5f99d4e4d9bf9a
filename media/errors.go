package media

import "errors"

// Sentinel errors of the media package. Callers match them with errors.Is;
// they are wrapped with what was being done.
var (
	// ErrInvalidPortRange reports a port range that is not "min-max" with
	// 1 <= min <= max <= 65535 and at least one even port.
	ErrInvalidPortRange = errors.New("media: invalid port range")
	// ErrNoPorts reports that every port of the pool is taken.
	ErrNoPorts = errors.New("media: no free RTP port")

	// ErrSDPTooLarge reports an SDP body above MaxSDPSize.
	ErrSDPTooLarge = errors.New("media: sdp too large")
	// ErrMalformedSDP reports an SDP body that does not parse (RFC 4566).
	ErrMalformedSDP = errors.New("media: malformed sdp")
	// ErrNoAudio reports an SDP body without an m=audio line.
	ErrNoAudio = errors.New("media: sdp has no audio stream")
	// ErrUnsupportedTransport reports an audio stream that is not RTP (AVP,
	// AVPF, SAVP or SAVPF; for instance UDP/TLS/RTP/SAVPF): the SIP layer
	// answers 488.
	ErrUnsupportedTransport = errors.New("media: unsupported media transport")
	// ErrBadConnection reports a missing or unusable c= line (no address,
	// a host name, a multicast group).
	ErrBadConnection = errors.New("media: bad sdp connection address")
	// ErrNoCommonCodec reports an offer without PCMU or PCMA: the SIP layer
	// answers 488 (design section 7).
	ErrNoCommonCodec = errors.New("media: no codec in common")
	// ErrStreamDisabled reports an offer whose audio stream has port 0
	// (RFC 3264 section 5.1).
	ErrStreamDisabled = errors.New("media: audio stream disabled")
	// ErrSDPTooComplex reports a body with more than MaxMediaLines m-lines
	// or MaxAttributes attributes: 488.
	ErrSDPTooComplex = errors.New("media: sdp has too many lines")
	// ErrBadCrypto reports an RTP/SAVP stream whose a=crypto cannot be used
	// (a supported suite with a bad key, an MKI, session parameters) or
	// that has none of a supported suite: 488, counted.
	ErrBadCrypto = errors.New("media: unusable sdes crypto")
	// ErrEncryptionRequired reports a plain RTP offer on a trunk whose
	// media_encryption is require: 488.
	ErrEncryptionRequired = errors.New("media: srtp required")
	// ErrEncryptionRefused reports an SRTP-only offer on a trunk whose
	// media_encryption is disable: 488.
	ErrEncryptionRefused = errors.New("media: srtp disabled")
	// ErrInvalidSDPParams reports SDPParams that cannot make a valid body.
	ErrInvalidSDPParams = errors.New("media: invalid sdp parameters")

	// ErrUnsupportedCodec reports a codec payload type the relay cannot
	// carry (only PCMU, PT 0, and PCMA, PT 8).
	ErrUnsupportedCodec = errors.New("media: unsupported codec")
	// ErrUnreachableRemote reports a peer the edge cannot send to: its SDP
	// names a host (not resolved in the media path) and the leg does not
	// learn addresses (rtp_latching: strict). The SIP layer answers 488.
	ErrUnreachableRemote = errors.New("media: unreachable remote address")
	// ErrInvalidRemote reports a remote address that cannot receive RTP.
	ErrInvalidRemote = errors.New("media: invalid remote address")
	// ErrInvalidLeg reports a Leg other than LegA and LegB.
	ErrInvalidLeg = errors.New("media: invalid leg")
	// ErrClosed reports use of a closed Session or Manager.
	ErrClosed = errors.New("media: closed")
	// ErrAlreadyRunning reports a second Run of the same Session.
	ErrAlreadyRunning = errors.New("media: session already running")
	// ErrDuplicateSession reports a call ID that already has a session.
	ErrDuplicateSession = errors.New("media: duplicate session")
	// ErrInvalidConfig reports a Config that fails Validate.
	ErrInvalidConfig = errors.New("media: invalid config")

	// ErrBadOffer reports an operator's WebRTC offer that cannot be used:
	// larger than MaxOfferSize, not parseable SDP, or refused by the WebRTC
	// stack (no ICE credentials, no DTLS fingerprint). The HTTP layer
	// answers 400.
	ErrBadOffer = errors.New("media: bad webrtc offer")
	// ErrNoPCMU reports an operator offer without an active audio stream
	// that accepts PCMU/8000, the only codec of operator legs. The HTTP
	// layer answers 422.
	ErrNoPCMU = errors.New("media: offer has no pcmu audio")
	// ErrCodecNotMixable reports an operator join to a call whose audio the
	// mixer cannot decode (G.722 or Opus, relayed untranscoded). The HTTP layer
	// answers 409, naming the codec.
	ErrCodecNotMixable = errors.New("media: call codec cannot be mixed (only PCMU and PCMA)")
	// ErrInvalidMode reports an OperatorMode other than listen, whisper and
	// barge.
	ErrInvalidMode = errors.New("media: invalid operator mode")
)
