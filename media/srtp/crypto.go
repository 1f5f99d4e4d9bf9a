package srtp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Errors of the package; callers match them with errors.Is.
var (
	// ErrBadCrypto reports an a=crypto attribute the edge cannot use: bad
	// syntax, a key of the wrong length, an MKI, session parameters.
	ErrBadCrypto = errors.New("srtp: bad crypto attribute")
	// ErrUnknownSuite reports a crypto suite other than the two supported;
	// an offer may carry such lines beside a usable one.
	ErrUnknownSuite = errors.New("srtp: unsupported crypto suite")
	// ErrAuth reports a packet that failed authentication (or replayed):
	// it must be dropped.
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrMalformed reports a datagram too short or not RTP/RTCP.
	ErrMalformed = errors.New("srtp: malformed packet")
)

// Suite is an SDES crypto suite (RFC 4568 section 6.2).
type Suite uint8

// The supported suites.
const (
	AESCM128HMACSHA1_80 Suite = iota + 1
	AESCM128HMACSHA1_32
)

// Suite names as SDP writes them.
const (
	NameAESCM128HMACSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	NameAESCM128HMACSHA1_32 = "AES_CM_128_HMAC_SHA1_32"
)

// String returns the SDP name of the suite.
func (s Suite) String() string {
	switch s {
	case AESCM128HMACSHA1_80:
		return NameAESCM128HMACSHA1_80
	case AESCM128HMACSHA1_32:
		return NameAESCM128HMACSHA1_32
	default:
		return "invalid"
	}
}

// ParseSuite returns the suite of an SDP name.
func ParseSuite(name string) (Suite, error) {
	switch name {
	case NameAESCM128HMACSHA1_80:
		return AESCM128HMACSHA1_80, nil
	case NameAESCM128HMACSHA1_32:
		return AESCM128HMACSHA1_32, nil
	}
	return 0, fmt.Errorf("%w: %.40q", ErrUnknownSuite, name)
}

// KeyLen is the length of the inline key||salt of both suites: a 128-bit
// master key and a 112-bit master salt (RFC 4568 section 6.2.1).
const KeyLen = 30

// Overhead is the most an Encrypter adds to a packet: the 10-byte tag of
// RTP, or the 4-byte index and 10-byte tag of RTCP.
const Overhead = 14

// MaxTag is the largest crypto tag accepted (RFC 4568 section 9.1: 1-9
// digits).
const MaxTag = 999999999

// Crypto is one a=crypto attribute: tag, suite and master key||salt. Its
// String and LogValue never show the key.
type Crypto struct {
	Tag   int
	Suite Suite
	key   [KeyLen]byte
}

// Generate returns a Crypto of suite with tag and a fresh key from
// crypto/rand.
func Generate(suite Suite, tag int) (Crypto, error) {
	if suite != AESCM128HMACSHA1_80 && suite != AESCM128HMACSHA1_32 {
		return Crypto{}, fmt.Errorf("%w: %d", ErrUnknownSuite, suite)
	}
	c := Crypto{Tag: tag, Suite: suite}
	if _, err := rand.Read(c.key[:]); err != nil {
		return Crypto{}, fmt.Errorf("srtp: generate key: %w", err)
	}
	return c, nil
}

// ParseCrypto parses the value of an a=crypto attribute (RFC 4568 section
// 9.1): "<tag> <suite> inline:<base64 key||salt>[|<lifetime>]". It
// returns ErrUnknownSuite for a well-formed line of another suite, and
// ErrBadCrypto for anything it cannot use.
func ParseCrypto(v string) (Crypto, error) {
	fields := strings.Fields(v)
	if len(fields) < 3 {
		return Crypto{}, fmt.Errorf("%w: want tag, suite and key", ErrBadCrypto)
	}
	if len(fields) > 3 {
		return Crypto{}, fmt.Errorf("%w: session parameters are not supported", ErrBadCrypto)
	}
	tag, err := strconv.Atoi(fields[0])
	if err != nil || tag < 0 || tag > MaxTag || len(fields[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: tag", ErrBadCrypto)
	}
	suite, err := ParseSuite(fields[1])
	if err != nil {
		return Crypto{}, err
	}
	params := fields[2]
	if strings.Contains(params, ";") {
		return Crypto{}, fmt.Errorf("%w: several keys are not supported", ErrBadCrypto)
	}
	inline, ok := strings.CutPrefix(params, "inline:")
	if !ok {
		return Crypto{}, fmt.Errorf("%w: key method is not inline", ErrBadCrypto)
	}
	b64, rest, _ := strings.Cut(inline, "|")
	if rest != "" {
		lifetime, mki, hasMKI := strings.Cut(rest, "|")
		if hasMKI || strings.Contains(lifetime, ":") {
			if !hasMKI {
				mki = lifetime
			}
			_ = mki
			return Crypto{}, fmt.Errorf("%w: MKI is not supported", ErrBadCrypto)
		}
		if !validLifetime(lifetime) {
			return Crypto{}, fmt.Errorf("%w: lifetime", ErrBadCrypto)
		}
	}
	key, err := decodeKey(b64)
	if err != nil {
		return Crypto{}, err
	}
	c := Crypto{Tag: tag, Suite: suite}
	copy(c.key[:], key)
	return c, nil
}

// decodeKey decodes the base64 key||salt, padded or not.
func decodeKey(s string) ([]byte, error) {
	if len(s) > 64 {
		return nil, fmt.Errorf("%w: key length", ErrBadCrypto)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64", ErrBadCrypto)
	}
	if len(key) != KeyLen {
		return nil, fmt.Errorf("%w: key length %d, want %d", ErrBadCrypto, len(key), KeyLen)
	}
	return key, nil
}

// validLifetime accepts "2^N" or a decimal count (RFC 4568 section 6.1).
func validLifetime(s string) bool {
	digits := s
	if p, ok := strings.CutPrefix(s, "2^"); ok {
		digits = p
	}
	if digits == "" || len(digits) > 20 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// Attribute returns the value of the a=crypto attribute for an SDP body,
// key included. It is the only way the key leaves a Crypto.
func (c Crypto) Attribute() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite.String() + " inline:" + base64.StdEncoding.EncodeToString(c.key[:])
}

// String describes c without its key.
func (c Crypto) String() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite.String() + " inline:<redacted>"
}

// LogValue keeps the key out of logs.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString keeps the key out of %#v.
func (c Crypto) GoString() string { return "srtp.Crypto{" + c.String() + "}" }

// Format keeps the key out of every fmt verb (%v, %+v, %#v, %s).
func (c Crypto) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// Equal reports whether c and o are the same suite and key (the tag aside),
// in constant time for the key.
func (c Crypto) Equal(o Crypto) bool {
	return c.Suite == o.Suite && subtle.ConstantTimeCompare(c.key[:], o.key[:]) == 1
}

// IsZero reports whether c is the zero Crypto (no key).
func (c Crypto) IsZero() bool { return c.Suite == 0 }

// tagLen is the RTP authentication tag length of the suite.
func (s Suite) tagLen() int {
	if s == AESCM128HMACSHA1_32 {
		return 4
	}
	return 10
}
