package srtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

var testKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, KeyLen))

func TestParseCrypto(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    error
		suite   Suite
		wantTag int
	}{
		{name: "80", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey, suite: AESCM128HMACSHA1_80, wantTag: 1},
		{name: "32", in: "2 AES_CM_128_HMAC_SHA1_32 inline:" + testKey, suite: AESCM128HMACSHA1_32, wantTag: 2},
		{name: "lifetime", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^31", suite: AESCM128HMACSHA1_80, wantTag: 1},
		{name: "unpadded", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(testKey, "="), suite: AESCM128HMACSHA1_80, wantTag: 1},
		{name: "unknown suite", in: "1 AES_256_CM_HMAC_SHA1_80 inline:" + testKey, want: ErrUnknownSuite},
		{name: "gcm", in: "1 AEAD_AES_128_GCM inline:" + testKey, want: ErrUnknownSuite},
		{name: "short key", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), want: ErrBadCrypto},
		{name: "long key", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(make([]byte, 46)), want: ErrBadCrypto},
		{name: "not base64", in: "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", want: ErrBadCrypto},
		{name: "mki", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4", want: ErrBadCrypto},
		{name: "mki no lifetime", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|1:4", want: ErrBadCrypto},
		{name: "two keys", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + ";inline:" + testKey, want: ErrBadCrypto},
		{name: "session param", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + " UNENCRYPTED_SRTP", want: ErrBadCrypto},
		{name: "bad tag", in: "x AES_CM_128_HMAC_SHA1_80 inline:" + testKey, want: ErrBadCrypto},
		{name: "not inline", in: "1 AES_CM_128_HMAC_SHA1_80 uri:x", want: ErrBadCrypto},
		{name: "empty", in: "", want: ErrBadCrypto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCrypto(tc.in)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Suite != tc.suite || c.Tag != tc.wantTag {
				t.Errorf("got %v", c)
			}
			back, err := ParseCrypto(c.Attribute())
			if err != nil || !back.Equal(c) {
				t.Errorf("round trip of Attribute: %v %v", back, err)
			}
		})
	}
}

func TestCryptoNeverPrintsKey(t *testing.T) {
	c, err := Generate(AESCM128HMACSHA1_80, 1)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(c.Attribute(), "1 AES_CM_128_HMAC_SHA1_80 inline:")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "crypto", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), c.String(), logged.String()} {
		if strings.Contains(s, key) || strings.Contains(s, key[:10]) {
			t.Errorf("key printed: %s", s)
		}
	}
	d, _ := Generate(AESCM128HMACSHA1_80, 1)
	if c.Equal(d) {
		t.Error("two generated keys are equal")
	}
}

// rtpPacket returns a plain RTP packet with room for the SRTP overhead.
func rtpPacket(seq uint16, payload byte) []byte {
	p := make([]byte, 12+160, 12+160+Overhead)
	p[0], p[1] = 0x80, 0
	p[2], p[3] = byte(seq>>8), byte(seq)
	p[8], p[9], p[10], p[11] = 0xde, 0xad, 0xbe, 0xef
	for i := 12; i < len(p); i++ {
		p[i] = payload
	}
	return p
}

func newPair(t testing.TB, suite Suite) (*Encrypter, *Decrypter) {
	c, err := Generate(suite, 1)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncrypter(c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecrypter(c)
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

func TestRTPRoundTrip(t *testing.T) {
	for _, suite := range []Suite{AESCM128HMACSHA1_80, AESCM128HMACSHA1_32} {
		t.Run(suite.String(), func(t *testing.T) {
			e, d := newPair(t, suite)
			for seq := uint16(65530); seq != 10; seq++ { // across the rollover
				plain := rtpPacket(seq, byte(seq))
				want := append([]byte(nil), plain...)
				enc, err := e.RTP(plain, plain)
				if err != nil {
					t.Fatal(err)
				}
				if len(enc) != len(want)+suite.tagLen() || bytes.Equal(enc[12:len(want)], want[12:]) {
					t.Fatalf("seq %d: not encrypted (len %d)", seq, len(enc))
				}
				got, err := d.RTP(enc)
				if err != nil {
					t.Fatalf("seq %d: %v", seq, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("seq %d: decrypted differs", seq)
				}
			}
		})
	}
}

func TestRTPAuthFailureAndReplay(t *testing.T) {
	e, d := newPair(t, AESCM128HMACSHA1_80)
	p := rtpPacket(1, 7)
	enc, _ := e.RTP(p, p)
	keep := append([]byte(nil), enc...)
	tampered := append([]byte(nil), enc...)
	tampered[20] ^= 1
	if _, err := d.RTP(tampered); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := d.RTP(enc); err != nil {
		t.Fatalf("genuine after a forgery: %v", err)
	}
	if _, err := d.RTP(keep); !errors.Is(err, ErrAuth) {
		t.Errorf("replay: %v", err)
	}
	_, other := newPair(t, AESCM128HMACSHA1_80)
	q := rtpPacket(2, 7)
	enc2, _ := e.RTP(q, q)
	if _, err := other.RTP(enc2); !errors.Is(err, ErrAuth) {
		t.Errorf("other key: %v", err)
	}
	if _, err := d.RTP([]byte{0x80, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

func TestRTCPRoundTrip(t *testing.T) {
	e, d := newPair(t, AESCM128HMACSHA1_32)
	// An RR with no report blocks: V=2, PT=201, length 1, SSRC.
	rr := []byte{0x80, 201, 0, 1, 1, 2, 3, 4}
	buf := make([]byte, len(rr), len(rr)+Overhead)
	copy(buf, rr)
	enc, err := e.RTCP(buf, buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.RTCP(enc)
	if err != nil || !bytes.Equal(got, rr) {
		t.Fatalf("got %x %v", got, err)
	}
	enc2, _ := e.RTCP(append(make([]byte, 0, len(rr)+Overhead), rr...), rr)
	enc2[9] ^= 0xff
	if _, err := d.RTCP(enc2); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered rtcp: %v", err)
	}
}

// TestNoAllocations checks the per-packet transform allocates nothing once
// the stream is known (the relay's promise).
func TestNoAllocations(t *testing.T) {
	e, d := newPair(t, AESCM128HMACSHA1_80)
	buf := rtpPacket(0, 1)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		b := buf[:12+160]
		b[2], b[3] = byte(seq>>8), byte(seq)
		enc, err := e.RTP(b, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.RTP(enc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
}

func BenchmarkEncryptDecryptRTP(b *testing.B) {
	e, d := newPair(b, AESCM128HMACSHA1_80)
	buf := rtpPacket(0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	seq := uint16(0)
	for b.Loop() {
		seq++
		p := buf[:12+160]
		p[2], p[3] = byte(seq>>8), byte(seq)
		enc, _ := e.RTP(p, p)
		if _, err := d.RTP(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey)
	f.Add("1 AES_CM_128_HMAC_SHA1_32 inline:" + testKey + "|2^31|1:4")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + ";inline:x")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			return
		}
		back, err := ParseCrypto(c.Attribute())
		if err != nil || !back.Equal(c) {
			t.Fatalf("Attribute does not round trip: %v", err)
		}
	})
}

// FuzzDecrypt feeds arbitrary datagrams to the decrypters: they must be
// refused, never crash, never pass authentication.
func FuzzDecrypt(f *testing.F) {
	e, _ := newPair(f, AESCM128HMACSHA1_80)
	p := rtpPacket(5, 1)
	enc, _ := e.RTP(p, p)
	f.Add(append([]byte(nil), enc...))
	f.Add([]byte{0x80, 201, 0, 1, 1, 2, 3, 4, 0x80, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 0xbe, 0xde, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, d := newPair(t, AESCM128HMACSHA1_80)
		if _, err := d.RTP(append([]byte(nil), b...)); err == nil {
			t.Fatal("random bytes authenticated as SRTP")
		}
		if _, err := d.RTCP(append([]byte(nil), b...)); err == nil {
			t.Fatal("random bytes authenticated as SRTCP")
		}
	})
}
