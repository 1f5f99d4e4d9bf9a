package routing

// maxDialDigits bounds the digits of a dialled number before its
// international or national prefix is taken off (E.164 allows 15, an
// international prefix adds up to 3).
const maxDialDigits = 20

// dialed is a dialled number taken apart: its digits and whether they
// followed a '+', and the digits of a global phone-context (RFC 3966
// section 5.1.5: "tel:5551230001;phone-context=+1").
type dialed struct {
	digits  [maxDialDigits]byte
	n       int
	plus    bool
	context [maxE164]byte
	nctx    int
}

// normalizeWith writes the E.164 form of a dialled number into buf, the
// number as a carrier sends it on a trunk whose default country code is cc
// (design section 10; "" when the trunk has none). It accepts a Request-URI
// user, a whole sip:, sips: or tel: URI (user=phone and user parameters
// dropped, a global phone-context applied) with percent-escapes and the
// visual separators of RFC 3966 section 5.1.1 (- . ( ) and space). Then:
//
//   - "+" and digits: E.164 as it is;
//   - a local number with a global phone-context: the context's digits first;
//   - "00" and digits: international prefix (ITU-T E.164 recommends 00);
//   - "011" and digits: the NANP international prefix, when cc is "" or
//     "1" (elsewhere "011" is a national number with trunk prefix 0, as
//     Leeds' 0113 is in the UK);
//   - no cc: the digits are E.164 without its '+' (the edge's behaviour
//     before country codes; a national number then misses);
//   - cc "1" (NANP): 10 digits are national, 1+10 digits and 0+10 digits
//     get +1;
//   - any other cc: 0+national takes cc in place of the 0, digits that
//     start with cc are E.164 without '+', others are national and get cc.
//
// The result must be '+' and 8 to 15 digits, the first not 0. It never
// allocates.
func normalizeWith(buf *[maxE164]byte, dialedNumber, cc string) (int, bool) {
	if !validCountryCode(cc) {
		cc = "" // tenancy validates it; a bad one must not reach the number
	}
	var d dialed
	if !d.parse(dialedNumber) {
		return 0, false
	}
	digits := d.digits[:d.n]
	var head []byte // digits written before digits
	switch {
	case d.plus:
	case d.nctx > 0:
		head = d.context[:d.nctx]
	case hasDigits(digits, "00"):
		digits = digits[2:]
	case hasDigits(digits, "011") && (cc == "" || cc == "1"):
		digits = digits[3:]
	case cc == "":
	case cc == "1":
		switch {
		case len(digits) == 10:
			head = []byte("1")
		case len(digits) == 11 && digits[0] == '0':
			head, digits = []byte("1"), digits[1:]
		}
	default:
		switch {
		case digits[0] == '0':
			head, digits = []byte(cc), digits[1:]
		case hasDigits(digits, cc):
		default:
			head = []byte(cc)
		}
	}
	total := len(head) + len(digits)
	if total < 8 || total > 15 {
		return 0, false
	}
	buf[0] = '+'
	n := 1
	n += copy(buf[n:], head)
	n += copy(buf[n:], digits)
	if buf[1] == '0' {
		return 0, false
	}
	return n, true
}

// normalize is normalizeWith for a trunk without a country code.
func normalize(buf *[maxE164]byte, dialedNumber string) (int, bool) {
	return normalizeWith(buf, dialedNumber, "")
}

// parse takes s apart into d; false when s is not a number.
func (d *dialed) parse(s string) bool {
	if len(s) > 0 && s[0] == '<' {
		s = s[1:]
		if len(s) > 0 && s[len(s)-1] == '>' {
			s = s[:len(s)-1]
		}
	}
	switch {
	case hasPrefixFold(s, "sip:"):
		s = sipUser(s[4:])
	case hasPrefixFold(s, "sips:"):
		s = sipUser(s[5:])
	case hasPrefixFold(s, "tel:"):
		s = s[4:]
	}
	number, params := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			number, params = s[:i], s[i+1:]
			break
		}
	}
	if !d.scan(number) || d.n == 0 {
		return false
	}
	if !d.plus {
		return d.phoneContext(params)
	}
	return true
}

// scan reads the digits of a number: '+' first or not at all, percent-
// escapes decoded, visual separators dropped, anything else refused.
func (d *dialed) scan(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return false
			}
			c = hi<<4 | lo
			i += 2
		}
		switch {
		case c >= '0' && c <= '9':
			if d.n >= maxDialDigits {
				return false
			}
			d.digits[d.n] = c
			d.n++
		case c == '+' && d.n == 0 && !d.plus:
			d.plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return true
}

// phoneContext finds a global phone-context ("+" and digits, RFC 3966
// section 5.1.5) among the parameters of a local number; a domain name
// context is no country code and is ignored. A malformed global context
// refuses the number.
func (d *dialed) phoneContext(params string) bool {
	for params != "" {
		p := params
		for i := 0; i < len(params); i++ {
			if params[i] == ';' {
				p, params = params[:i], params[i+1:]
				break
			}
		}
		if p == params {
			params = ""
		}
		if !hasPrefixFold(p, "phone-context=") {
			continue
		}
		v := p[len("phone-context="):]
		if len(v) == 0 || v[0] != '+' {
			return true
		}
		var c dialed
		if !c.scan(v) || c.n == 0 || c.n > 3 {
			return false
		}
		d.nctx = copy(d.context[:], c.digits[:c.n])
		return true
	}
	return true
}

// validCountryCode reports whether cc is "" or 1-3 digits not starting
// with 0 (tenancy.Trunk's default_country_code).
func validCountryCode(cc string) bool {
	if len(cc) > 3 || (cc != "" && cc[0] == '0') {
		return false
	}
	for i := 0; i < len(cc); i++ {
		if cc[i] < '0' || cc[i] > '9' {
			return false
		}
	}
	return true
}

func hasDigits(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if b[i] != prefix[i] {
			return false
		}
	}
	return true
}

// NormalizeFor returns the E.164 form of a number dialled through a trunk
// whose default country code is cc ("" for none), or false; see
// normalizeWith for the forms. It allocates the returned string.
func NormalizeFor(dialedNumber, cc string) (string, bool) {
	var buf [maxE164]byte
	n, ok := normalizeWith(&buf, dialedNumber, cc)
	if !ok {
		return "", false
	}
	return string(buf[:n]), true
}
