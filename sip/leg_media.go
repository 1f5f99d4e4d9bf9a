package sip

import (
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/media/srtp"
)

// The media settings of each leg in every offer/answer exchange of the
// call (offeranswer.go, reinvite.go, update.go, forward.go): leg A follows
// the trunk's media_encryption and rtp_latching (design section 10), leg
// B the service target (SRTP when it says so, strict latching).

// encryption is what leg l asks of SRTP.
func (c *call) encryption(l media.Leg) media.Encryption {
	if l == media.LegB {
		return serviceEncryption(c.route)
	}
	return encryptionOf(c.trunk)
}

// latching is leg l's RTP latching.
func (c *call) latching(l media.Leg) media.Latching {
	if l == media.LegB {
		return media.LatchStrict
	}
	return latchingOf(c.trunk)
}

// supported are the codecs an offer of leg l may be answered with: the
// defaults, and G.722 or Opus only while the other leg has it (passthrough,
// they are never transcoded).
func (c *call) supported(l media.Leg) []media.Codec {
	c.mu.Lock()
	other := c.answerB.Codec
	if l == media.LegB {
		other = c.ansA.Codec
	}
	c.mu.Unlock()
	if passthrough(other) {
		return append([]media.Codec{other}, media.DefaultCodecs()...)
	}
	return nil
}

// readOffer reads the SDP offer of an in-dialog request of leg l (its
// application/sdp part for a multipart body) and negotiates it under the
// leg's settings: 415 for a body of another type, 400 naming the SDP body
// when it is malformed, 488 when nothing in it can be used.
func (c *call) readOffer(l media.Leg, req *sip.Request) (*media.Description, media.Answer, *Rejection) {
	return readOffer(req, c.encryption(l), c.supported(l))
}

func readOffer(req *sip.Request, enc media.Encryption, supported []media.Codec) (*media.Description, media.Answer, *Rejection) {
	ct := req.ContentType()
	if ct == nil || (!isSDP(ct.Value()) && !isMultipart(ct.Value())) {
		rej := reject(ReasonUnsupportedMedia, "Content-Type")
		rej.headers = []sip.Header{sip.NewHeader("Accept", "application/sdp")}
		return nil, media.Answer{}, rej
	}
	body, err := media.ExtractSDP(ct.Value(), req.Body())
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	offer, err := media.ParseSDP(body)
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	offer, ans, err := chooseOffer(offer, enc, supported)
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	return offer, ans, nil
}

// answerFor is the edge's answer on leg l for the negotiated ans, in
// direction dir, with the leg's profile (SAVP and key, m-lines).
func (c *call) answerFor(l media.Leg, ans media.Answer, dir media.Direction) ([]byte, error) {
	return c.s.sdpFor(c.sess, l, []media.Codec{ans.Codec}, ans.TelephoneEventPT, dir, ans.Ptime, c.sdpID, c.nextVersion(l), c.profile(l))
}

// offerProfile is the profile of an offer of the edge on leg l: the leg's
// current one once negotiated (a re-offer keeps the key and the m-lines,
// RFC 3264 section 8), else, before any exchange on the leg (a delayed
// offer, the first offer to the service), SAVP with a key of the edge when
// the leg requires SRTP and plain RTP otherwise.
func (c *call) offerProfile(l media.Leg) (media.Profile, error) {
	cur := c.profile(l)
	if cur.Proto != "" || !cur.Crypto.IsZero() || len(cur.Mirror) > 0 {
		return cur, nil
	}
	if c.encryption(l) != media.EncryptionRequire {
		return media.Profile{}, nil
	}
	local, err := c.sess.OfferCrypto(l, srtp.AESCM128HMACSHA1_80)
	if err != nil {
		return media.Profile{}, fmt.Errorf("offer srtp on leg %s: %w", l, err)
	}
	prof := media.Profile{Proto: media.ProtoSAVP, Crypto: local}
	c.setProfile(l, prof)
	return prof, nil
}
