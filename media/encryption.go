package media

import (
	"fmt"

	"github.com/voiceedge/edge/media/srtp"
)

// Encryption is a trunk's media_encryption (design section 10): whether
// its calls use SDES-SRTP (RFC 4568) on the trunk leg.
type Encryption uint8

const (
	// EncryptionAllow answers in kind: SRTP to an SRTP offer, RTP to a
	// plain one. The default.
	EncryptionAllow Encryption = iota
	// EncryptionDisable refuses an SRTP-only offer (488); an offer that
	// also has an RTP/AVP audio stream is answered on that one.
	EncryptionDisable
	// EncryptionRequire refuses a plain RTP offer (488).
	EncryptionRequire
)

// ParseEncryption parses "disable", "allow" or "require"; "" is allow.
func ParseEncryption(s string) (Encryption, error) {
	switch s {
	case "", "allow":
		return EncryptionAllow, nil
	case "disable":
		return EncryptionDisable, nil
	case "require":
		return EncryptionRequire, nil
	}
	return 0, fmt.Errorf("%w: media encryption %q", ErrInvalidConfig, s)
}

// String returns the configuration name.
func (e Encryption) String() string {
	switch e {
	case EncryptionDisable:
		return "disable"
	case EncryptionRequire:
		return "require"
	default:
		return "allow"
	}
}

// SelectAudio returns the audio stream of an offer that enc allows: the
// first enabled one of the offer (ParseSDP's choice) unless enc rules out
// its kind, then the next that fits. It returns ErrEncryptionRequired
// when enc is require and no stream is SRTP, ErrEncryptionRefused when
// enc is disable and every stream is.
func SelectAudio(offer *Description, enc Encryption) (*Description, error) {
	if offer == nil {
		return nil, ErrNoAudio
	}
	fits := func(d *Description) bool {
		switch enc {
		case EncryptionDisable:
			return !d.Secure()
		case EncryptionRequire:
			return d.Secure()
		}
		return true
	}
	if fits(offer) {
		return offer, nil
	}
	for _, o := range offer.others {
		if fits(o) {
			return o, nil
		}
	}
	if enc == EncryptionRequire {
		return nil, fmt.Errorf("%w: the offer has no RTP/SAVP audio", ErrEncryptionRequired)
	}
	return nil, fmt.Errorf("%w: the offer has no RTP/AVP audio", ErrEncryptionRefused)
}

// PeerCrypto returns the crypto of the offer or answer to use for what the
// peer sends: the first usable a=crypto of an SRTP stream (RFC 4568
// section 7.1.1), the zero Crypto for plain RTP.
func (d *Description) PeerCrypto() srtp.Crypto {
	if !d.Secure() || len(d.Crypto) == 0 {
		return srtp.Crypto{}
	}
	return d.Crypto[0]
}
