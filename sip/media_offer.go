package sip

import (
	"fmt"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/media/srtp"
	"github.com/voiceedge/edge/routing"
)

// encryptionOf is a trunk's media_encryption (design section 10); a value
// the control plane would not have stored reads as the default, allow.
func encryptionOf(t *routing.Trunk) media.Encryption {
	if t == nil {
		return media.EncryptionAllow
	}
	enc, err := media.ParseEncryption(t.MediaEncryption)
	if err != nil {
		return media.EncryptionAllow
	}
	return enc
}

// serviceEncryption is what the service leg asks of SRTP: require when the
// target says so (sips: or media=srtp), else plain RTP only.
func serviceEncryption(r *routing.Route) media.Encryption {
	if r != nil && r.Service != nil && r.Service.Target.SRTP {
		return media.EncryptionRequire
	}
	return media.EncryptionDisable
}

// chooseOffer picks the audio stream of an offer that enc allows and
// negotiates it (RFC 3264 section 6).
func chooseOffer(offer *media.Description, enc media.Encryption, supported []media.Codec) (*media.Description, media.Answer, error) {
	d, err := media.SelectAudio(offer, enc)
	if err != nil {
		return nil, media.Answer{}, err
	}
	ans, err := media.Negotiate(d, supported)
	if err != nil {
		return nil, media.Answer{}, err
	}
	return d, ans, nil
}

// latchingOf is a trunk's rtp_latching; the service leg is always strict
// (services sit on a network the edge reaches as their SDP says).
func latchingOf(t *routing.Trunk) media.Latching {
	if t == nil {
		return media.LatchStrict
	}
	l, err := media.ParseLatching(t.RTPLatching)
	if err != nil {
		return media.LatchStrict
	}
	return l
}

// pointLeg points leg l of the session at an offer (or answer) chosen by
// chooseOffer, with the leg's latching, sets the leg's SRTP keys and
// returns the profile of the edge's answer, with the edge's own key.
func pointLeg(sess MediaSession, l media.Leg, d *media.Description, ans media.Answer, latch media.Latching) (media.Profile, error) {
	o := media.LegOptions{RTCP: d.RTCPAddr(), RTCPMux: d.RTCPMux, Latching: latch, Direction: d.EffectiveDirection(), ComfortNoise: ans.CN}
	if err := sess.SetLegOptions(l, o); err != nil {
		return media.Profile{}, err
	}
	if err := sess.SetRemoteCodec(l, d.RTPAddr(), ans.Codec, ans.TelephoneEventPT); err != nil {
		return media.Profile{}, err
	}
	local, err := sess.SetCrypto(l, ans.Crypto)
	if err != nil {
		return media.Profile{}, err
	}
	prof := ans.Profile
	prof.Crypto = local
	return prof, nil
}

// serviceOfferProfile is the profile of the edge's offer to the service:
// SAVP with a key of the edge when the target asks for SRTP.
func serviceOfferProfile(sess MediaSession, r *routing.Route) (media.Profile, error) {
	if serviceEncryption(r) != media.EncryptionRequire {
		return media.Profile{}, nil
	}
	local, err := sess.OfferCrypto(media.LegB, srtp.AESCM128HMACSHA1_80)
	if err != nil {
		return media.Profile{}, fmt.Errorf("offer srtp to the service: %w", err)
	}
	return media.Profile{Proto: media.ProtoSAVP, Crypto: local}, nil
}

// profile returns the profile of the edge's SDP on leg l.
func (c *call) profile(l media.Leg) media.Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prof[l]
}

func (c *call) setProfile(l media.Leg, p media.Profile) {
	c.mu.Lock()
	c.prof[l] = p
	c.mu.Unlock()
}

// serviceCodecs are the codecs of the edge's offer to the service: what the
// trunk offered that the relay carries, in the trunk's order (G.722 and
// Opus only this way: they are passed through, never transcoded; Opus with
// the trunk's payload type and fmtp), then the G.711 laws the trunk did not
// offer (the relay transcodes between them), and CN when the trunk offered
// it.
func serviceCodecs(offer *media.Description, ans media.Answer) []media.Codec {
	var out []media.Codec
	has := func(c media.Codec) bool {
		for _, k := range out {
			if k.PT == c.PT || (k.IsOpus() && c.IsOpus()) {
				return true
			}
		}
		return false
	}
	if offer != nil {
		for _, f := range offer.Formats {
			for _, c := range media.PassthroughCodecs() {
				if k, ok := f.Matches(c); ok && !has(k) {
					out = append(out, k)
				}
			}
		}
	}
	if ans.Codec.Name != "" && !has(ans.Codec) { // none after a delayed offer
		out = append([]media.Codec{ans.Codec}, out...)
	}
	for _, c := range media.DefaultCodecs() {
		if !has(c) {
			out = append(out, c)
		}
	}
	if ans.CN {
		out = append(out, media.CodecCN)
	}
	return out
}

// eventPT is the telephone-event payload type of the edge's offer beside
// codecs: DefaultTelephoneEventPT, or the first dynamic type after it that
// no codec uses (the trunk's Opus may sit on 101).
func eventPT(codecs []media.Codec) uint8 {
	for pt := int(media.DefaultTelephoneEventPT); pt < int(media.DefaultTelephoneEventPT)+32; pt++ {
		p := uint8(96 + (pt-96)%32) // 101..127, then 96..100
		used := false
		for _, c := range codecs {
			used = used || c.PT == p
		}
		if !used {
			return p
		}
	}
	return media.DefaultTelephoneEventPT // unreachable: at most a handful of codecs
}

// answerCodecs are the codecs of the edge's answer to the trunk: the
// chosen one, and CN when both legs negotiated it (it is passed through).
func (c *call) answerCodecs() []media.Codec {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []media.Codec{c.ansA.Codec}
	if c.ansA.CN && c.answerB.CN {
		out = append(out, media.CodecCN)
	}
	return out
}

// passthrough reports whether c is relayed untranscoded only: G.722 or
// Opus.
func passthrough(c media.Codec) bool {
	return c.Name != "" && (c.PT == media.PayloadG722 || c.IsOpus())
}

// sameCodec reports whether a and b are the same codec, whatever their
// payload types when dynamic (Opus).
func sameCodec(a, b media.Codec) bool {
	if a.IsOpus() || b.IsOpus() {
		return a.IsOpus() && b.IsOpus()
	}
	return a.PT == b.PT
}

// followServiceCodec gives the trunk leg the service's codec when that is
// G.722 or Opus, which the trunk offered: both legs then carry it
// untouched (Opus with the trunk's own payload type and fmtp, the relay
// rewriting the payload type when the service's differs).
func (c *call) followServiceCodec(b media.Answer) error {
	if !passthrough(b.Codec) || c.offerA == nil {
		return nil
	}
	c.mu.Lock()
	a := c.ansA
	c.mu.Unlock()
	if sameCodec(a.Codec, b.Codec) {
		return nil
	}
	var follow media.Codec
	for _, f := range c.offerA.Formats {
		if k, ok := f.Matches(b.Codec); ok {
			follow = k
			break
		}
	}
	if follow.Name == "" {
		return nil // the trunk did not offer it: the relay drops, never transcodes
	}
	if err := c.sess.SetRemoteCodec(media.LegA, c.offerA.RTPAddr(), follow, a.TelephoneEventPT); err != nil {
		return err
	}
	c.mu.Lock()
	c.ansA.Codec = follow
	c.mu.Unlock()
	return nil
}
