package media

// Direction is the media direction attribute of an SDP media description
// (RFC 4566 section 6, RFC 3264 section 5.1). The zero value is SendRecv,
// the default when a description carries none.
type Direction uint8

// The four directions.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name ("sendrecv", ...).
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// parseDirection maps an attribute name to its Direction.
func parseDirection(attr string) (Direction, bool) {
	switch attr {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	default:
		return SendRecv, false
	}
}

// Sends reports whether d lets its side send media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether d lets its side receive media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// AnswerDirection returns the direction an answer takes to an offer of
// direction offer, when the answerer is willing to send and receive
// (RFC 3264 section 6.1 and the hold rules of section 8.4, RFC 6337
// section 5): sendonly is answered recvonly (the offerer holds us),
// recvonly is answered sendonly, inactive is answered inactive, and
// sendrecv (resume) is answered sendrecv.
func AnswerDirection(offer Direction) Direction {
	switch offer {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	default:
		return SendRecv
	}
}

// withoutReceive removes the receive half of d. An offer with the
// connection address 0.0.0.0 (the RFC 2543 hold that RFC 3264 section 8.4
// still asks answerers to understand) says "do not send to me".
func (d Direction) withoutReceive() Direction {
	switch d {
	case SendRecv, SendOnly:
		return SendOnly
	default:
		return Inactive
	}
}
