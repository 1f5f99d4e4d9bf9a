package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// Sentinel errors of the package, wrapped with %w by the code that meets them.
var (
	// ErrInvalidConfig reports a Config that fails Validate.
	ErrInvalidConfig = errors.New("sip: invalid config")
	// ErrClosed reports use of a closed Server.
	ErrClosed = errors.New("sip: server closed")
	// ErrDraining reports a new call while the server drains.
	ErrDraining = errors.New("sip: draining")
	// ErrNoAnswer reports a service that did not answer within the
	// no-answer timer.
	ErrNoAnswer = errors.New("sip: service did not answer")
	// ErrCanceled reports a call the trunk cancelled before the answer.
	ErrCanceled = errors.New("sip: cancelled by the trunk")
	// ErrHangupRequested reports a call hung up by the control plane.
	ErrHangupRequested = errors.New("sip: hangup requested")
	// ErrShutdown reports a call ended because the server stops.
	ErrShutdown = errors.New("sip: shutdown")
	// ErrDrainTimeout reports a call still up when a drain's time ran out
	// (EDGE_DRAIN_TIMEOUT): the edge hung it up.
	ErrDrainTimeout = errors.New("sip: drain timeout")
	// ErrServiceUnavailable reports a service that cannot be reached or
	// answered with a failure.
	ErrServiceUnavailable = errors.New("sip: service unavailable")
	// ErrServiceBusy reports a service that answered busy (486, 600).
	ErrServiceBusy = errors.New("sip: service busy")
	// errMediaShare: the workspace holds its share of this node's media
	// ports (media_share.go).
	errMediaShare = errors.New("sip: workspace at its share of this node's media ports")
	// ErrServiceNoAnswer reports a service that answered 480 or 408.
	ErrServiceNoAnswer = errors.New("sip: service temporarily unavailable")
	// ErrCallNotLive reports a take-over (Server.TakeOver) of a call this
	// node does not carry for the workspace, or that has ended.
	ErrCallNotLive = errors.New("sip: no such live call")
	// ErrNotBarging reports a take-over by an operator the caller does
	// not hear (not in barge mode).
	ErrNotBarging = errors.New("sip: the operator is not in barge mode")
	// ErrTakenOver reports a take-over of a call another operator has
	// without its agent already.
	ErrTakenOver = errors.New("sip: another operator has the call")
)

// Reason is the bounded label of a call's outcome: the reason of a
// rejection in invites_total and the end reason of a call in call.ended.
type Reason string

// Rejection reasons (design section 7, in the order they are checked) and
// end reasons.
const (
	ReasonMalformed     Reason = "malformed"
	ReasonUnknownSource Reason = "unknown_source"
	ReasonRateLimited   Reason = "rate_limited"
	// ReasonRetransmission: a late copy of an ended call's INVITE
	// (absorb.go), dropped as its transaction would have dropped it.
	ReasonRetransmission Reason = "retransmission"
	// ReasonTooManyConns: a TCP or TLS connection over the caps of
	// Config.MaxStreamConns (dropped, never answered).
	ReasonTooManyConns    Reason = "too_many_connections"
	ReasonTrunkBudget     Reason = "trunk_budget"
	ReasonAuthRequired    Reason = "auth_required"
	ReasonAuthFailed      Reason = "auth_failed"
	ReasonNotFound        Reason = "not_found"
	ReasonSuspended       Reason = "suspended"
	ReasonConcurrentLimit Reason = "concurrent_limit"
	ReasonCPSLimit        Reason = "cps_limit"
	ReasonNoCodec         Reason = "no_codec"
	ReasonNoPorts         Reason = "no_ports"
	ReasonStoreDown       Reason = "store_unavailable"
	ReasonDraining        Reason = "draining"
	// ReasonOverload: the edge is at its bound of setups in progress
	// (overload.go); ReasonWorkspaceOverload: the call's workspace holds
	// its share of them.
	ReasonOverload          Reason = "overload"
	ReasonWorkspaceOverload Reason = "workspace_overload"
	ReasonServiceDown       Reason = "service_unavailable"
	ReasonInternal          Reason = "internal_error"
	ReasonServiceBusy       Reason = "service_busy"
	ReasonNoAnswer          Reason = "no_answer"
	ReasonCanceled          Reason = "canceled"
	ReasonHangupRequested   Reason = "hangup_requested"
	ReasonShutdown          Reason = "shutdown"
	// ReasonDrainTimeout: a call still up when the drain's time ran out.
	ReasonDrainTimeout Reason = "drain_timeout"
	ReasonTooManyHops  Reason = "too_many_hops"
	// SDES-SRTP refusals (trunk media_encryption, RFC 4568).
	ReasonSRTPRequired Reason = "srtp_required"
	ReasonSRTPDisabled Reason = "srtp_disabled"
	ReasonBadCrypto    Reason = "bad_crypto"
	ReasonSDPTooLarge  Reason = "sdp_too_complex"

	// Refusals of RFC 3261 section 8.2 (see conformance.go), answered
	// before a request reaches its method's handler.
	ReasonBadVersion        Reason = "bad_version"
	ReasonUnsupportedScheme Reason = "unsupported_scheme"
	ReasonBadExtension      Reason = "bad_extension"
	ReasonUnsupportedMedia  Reason = "unsupported_media_type"
	ReasonNotAcceptable     Reason = "not_acceptable"
	ReasonMethodNotAllowed  Reason = "method_not_allowed"
	ReasonNotImplemented    Reason = "not_implemented"

	ReasonTrunkHangup   Reason = "trunk_hangup"
	ReasonServiceHangup Reason = "service_hangup"
	ReasonMediaTimeout  Reason = "media_timeout"
	ReasonMaxDuration   Reason = "max_duration"
	ReasonNoAck         Reason = "no_ack"
	ReasonAnswered      Reason = "answered"

	// End reasons of the dialog layer (offeranswer.go, mediawatch.go).
	ReasonNoAnswerSDP         Reason = "no_answer_sdp"
	ReasonMediaTimeoutTrunk   Reason = "media_timeout_trunk"
	ReasonMediaTimeoutService Reason = "media_timeout_service"
	ReasonSessionExpired      Reason = "session_expired"

	// Refusals of in-dialog requests (reinvite.go, update.go).
	ReasonRequestPending Reason = "request_pending"
	ReasonNoDialog       Reason = "no_dialog"
	ReasonOutOfOrder     Reason = "out_of_order"
	ReasonPeerRefused    Reason = "peer_refused"
	ReasonPeerFailed     Reason = "peer_failed"
	// ReasonBadHeader is a malformed header of the dialog extensions
	// (Session-Expires, Min-SE, RSeq, RAck): 400 "Bad <header>".
	ReasonBadHeader Reason = "bad_header"
	// ReasonNoPrack: a reliable provisional response was never PRACKed
	// (RFC 3262 section 3: the INVITE is refused with a 5xx).
	ReasonNoPrack Reason = "no_prack"
	// ReasonIntervalTooBrief: a Session-Expires below the edge's Min-SE
	// (RFC 4028 section 8.1): 422 with Min-SE.
	ReasonIntervalTooBrief Reason = "interval_too_brief"

	// Refusals of an INVITE with Replaces (replaces.go, RFC 3891): its
	// early-only flag for a confirmed dialog (486), past the transfers a
	// call may make (403).
	ReasonEarlyOnly     Reason = "early_only"
	ReasonTransferLimit Reason = "transfer_limit"
	// End reasons of a call an operator took over (takeover.go): the
	// operator left after the agent, or no operator came while the caller
	// waited on hold audio.
	ReasonOperatorLeft Reason = "operator_left"
	ReasonNoOperator   Reason = "no_operator"
)

// Rejection is a refusal of a request with its cause. Every refusal of the
// package is one; Status maps it to a SIP response.
type Rejection struct {
	Reason Reason
	// Detail names the field or header at fault, for the reason phrase of
	// a 400 and for logs; it never names anything of another workspace.
	Detail string
	// RetryAfter, in seconds, adds a Retry-After header when positive.
	RetryAfter int
	Err        error

	// authenticate are the Proxy-Authenticate values of a 407, one per
	// digest algorithm.
	authenticate []string
	// headers are further headers the status requires: Unsupported of a
	// 420, Accept of a 415, Allow of a 405 or 501.
	headers []sip.Header
}

func (r *Rejection) Error() string {
	msg := string(r.Reason)
	if r.Detail != "" {
		msg += ": " + r.Detail
	}
	if r.Err != nil {
		msg += ": " + r.Err.Error()
	}
	return msg
}

func (r *Rejection) Unwrap() error { return r.Err }

func reject(reason Reason, detail string) *Rejection {
	return &Rejection{Reason: reason, Detail: detail}
}

// response is a SIP status and reason phrase.
type response struct {
	code   int
	phrase string
}

// responses is THE table from cause to SIP response: every refusal and
// every failed call is answered from it (design section 7, issue 14 item
// 8). Retry-After (set by classify and the budget) goes only with the
// 503s of whole-edge conditions, draining, shutdown, no media ports, the
// call store down, and with a trunk over its own request budget: a carrier
// backs off the whole edge, every tenant, on a 503 with Retry-After (RFC
// 3261 section 21.5.4). A workspace's own limits are callee-scoped: 486 at
// its concurrent-call limit, 480 with Retry-After at its CPS limit. One
// service's failure is final for that call and carries no Retry-After:
// 480 when it does not answer (or answers 408/480), 486 busy, 503 when it
// is unreachable or fails, 500 for a fault of the edge's own.
var responses = map[Reason]response{
	ReasonMalformed:         {400, "Bad Request"},
	ReasonUnknownSource:     {403, "Forbidden"},
	ReasonRateLimited:       {503, "Service Unavailable"},
	ReasonTrunkBudget:       {503, "Service Unavailable"},
	ReasonAuthRequired:      {407, "Proxy Authentication Required"},
	ReasonAuthFailed:        {407, "Proxy Authentication Required"},
	ReasonNotFound:          {404, "Not Found"},
	ReasonSuspended:         {403, "Forbidden"},
	ReasonConcurrentLimit:   {486, "Busy Here"},
	ReasonCPSLimit:          {480, "Temporarily Unavailable"},
	ReasonNoCodec:           {488, "Not Acceptable Here"},
	ReasonNoPorts:           {503, "Service Unavailable"},
	ReasonStoreDown:         {503, "Service Unavailable"},
	ReasonDraining:          {503, "Service Unavailable"},
	ReasonOverload:          {503, "Service Unavailable"},
	ReasonWorkspaceOverload: {480, "Temporarily Unavailable"},
	ReasonServiceDown:       {503, "Service Unavailable"},
	ReasonInternal:          {500, "Server Internal Error"},
	ReasonServiceBusy:       {486, "Busy Here"},
	ReasonNoAnswer:          {480, "Temporarily Unavailable"},
	ReasonCanceled:          {487, "Request Terminated"},
	ReasonHangupRequested:   {480, "Temporarily Unavailable"},
	ReasonShutdown:          {503, "Service Unavailable"},
	ReasonDrainTimeout:      {503, "Service Unavailable"},
	ReasonTooManyHops:       {483, "Too Many Hops"},
	ReasonSRTPRequired:      {488, "Not Acceptable Here"},
	ReasonSRTPDisabled:      {488, "Not Acceptable Here"},
	ReasonBadCrypto:         {488, "Not Acceptable Here"},
	ReasonSDPTooLarge:       {488, "Not Acceptable Here"},

	ReasonBadVersion:        {505, "Version Not Supported"},
	ReasonUnsupportedScheme: {416, "Unsupported URI Scheme"},
	ReasonBadExtension:      {420, "Bad Extension"},
	ReasonUnsupportedMedia:  {415, "Unsupported Media Type"},
	ReasonNotAcceptable:     {488, "Not Acceptable Here"},
	ReasonMethodNotAllowed:  {405, "Method Not Allowed"},
	ReasonNotImplemented:    {501, "Not Implemented"},

	ReasonRequestPending: {491, "Request Pending"},
	ReasonNoDialog:       {481, "Call/Transaction Does Not Exist"},
	ReasonOutOfOrder:     {500, "Server Internal Error"},
	ReasonPeerRefused:    {488, "Not Acceptable Here"},
	ReasonPeerFailed:     {500, "Server Internal Error"},
	ReasonBadHeader:      {400, "Bad Request"},
	ReasonNoPrack:        {500, "Server Internal Error"},

	ReasonIntervalTooBrief: {422, "Session Interval Too Small"},

	ReasonEarlyOnly:     {486, "Busy Here"},
	ReasonTransferLimit: {403, "Forbidden"},
}

// byeReasons are the Reason headers (RFC 3326) of the BYEs the edge sends
// when it ends a call of its own accord for a whole-edge cause, on both
// legs, so that the carrier and the service see why the call ended. Other
// BYEs carry none.
var byeReasons = map[Reason]response{
	ReasonDrainTimeout: {503, "Edge drain timeout"},
	ReasonShutdown:     {503, "Edge shutdown"},
}

// byeReason is the Reason header value of a BYE ending a call for reason,
// "" when it carries none.
func byeReason(reason Reason) string {
	r, ok := byeReasons[reason]
	if !ok {
		return ""
	}
	return fmt.Sprintf("SIP;cause=%d;text=%q", r.code, r.phrase)
}

// Status returns the SIP status code and reason phrase for r. A 400 names
// the field at fault in its phrase.
func (r *Rejection) Status() (int, string) {
	resp, ok := responses[r.Reason]
	if !ok {
		resp = response{500, "Server Internal Error"}
	}
	if r.Reason == ReasonBadHeader && r.Detail != "" {
		return resp.code, "Bad " + r.Detail
	}
	if resp.code == 400 && r.Detail != "" {
		return resp.code, resp.phrase + " (" + r.Detail + ")"
	}
	return resp.code, resp.phrase
}

// responseTo builds the response of r to req: its status, Retry-After,
// Proxy-Authenticate and the headers its status requires. The version is
// always SIP/2.0, also in the 505 to a request of another version.
func (r *Rejection) responseTo(req *sip.Request) *sip.Response {
	code, phrase := r.Status()
	res := sip.NewResponseFromRequest(req, code, phrase, nil)
	res.SipVersion = "SIP/2.0"
	if r.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", itoa(r.RetryAfter)))
	}
	for _, a := range r.authenticate {
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", a))
	}
	for _, h := range r.headers {
		res.AppendHeader(h)
	}
	return res
}

// classify turns any error met while setting up a call into a Rejection:
// the causes of other packages (media, tenancy, the service's answer, the
// call's own context) are mapped here and nowhere else.
func classify(err error) *Rejection {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rej
	}
	var lim *tenancy.LimitError
	switch {
	case errors.As(err, &lim):
		if lim.Reason == "cps" {
			return &Rejection{Reason: ReasonCPSLimit, RetryAfter: 1, Err: err}
		}
		return &Rejection{Reason: ReasonConcurrentLimit, Err: err}
	case errors.Is(err, errMediaShare):
		return &Rejection{Reason: ReasonConcurrentLimit, Detail: "media share", Err: err}
	case errors.Is(err, tenancy.ErrUnavailable):
		return &Rejection{Reason: ReasonStoreDown, RetryAfter: 5, Err: err}
	case errors.Is(err, tenancy.ErrDeleted):
		// Admitted by a map that had not yet dropped the workspace: its
		// number is unknown now (404), as it will be once the map follows.
		return &Rejection{Reason: ReasonNotFound, Err: err}
	case errors.Is(err, media.ErrNoPorts):
		return &Rejection{Reason: ReasonNoPorts, RetryAfter: 5, Err: err}
	case errors.Is(err, media.ErrEncryptionRequired):
		return &Rejection{Reason: ReasonSRTPRequired, Err: err}
	case errors.Is(err, media.ErrEncryptionRefused):
		return &Rejection{Reason: ReasonSRTPDisabled, Err: err}
	case errors.Is(err, media.ErrBadCrypto):
		return &Rejection{Reason: ReasonBadCrypto, Err: err}
	case errors.Is(err, media.ErrUnreachableRemote):
		return &Rejection{Reason: ReasonNotAcceptable, Detail: "SDP connection address", Err: err}
	case errors.Is(err, media.ErrSDPTooComplex):
		return &Rejection{Reason: ReasonSDPTooLarge, Err: err}
	case errors.Is(err, media.ErrNoCommonCodec), errors.Is(err, media.ErrNoAudio),
		errors.Is(err, media.ErrUnsupportedTransport), errors.Is(err, media.ErrStreamDisabled),
		errors.Is(err, media.ErrUnsupportedCodec):
		return &Rejection{Reason: ReasonNoCodec, Err: err}
	case errors.Is(err, media.ErrMalformedSDP), errors.Is(err, media.ErrSDPTooLarge),
		errors.Is(err, media.ErrBadConnection), errors.Is(err, media.ErrInvalidRemote):
		return &Rejection{Reason: ReasonMalformed, Detail: "SDP body", Err: err}
	case errors.Is(err, errNoPrack):
		return &Rejection{Reason: ReasonNoPrack, Err: err}
	case errors.Is(err, ErrNoAnswer), errors.Is(err, context.DeadlineExceeded):
		return &Rejection{Reason: ReasonNoAnswer, Err: err}
	case errors.Is(err, ErrCanceled):
		return &Rejection{Reason: ReasonCanceled, Err: err}
	case errors.Is(err, ErrHangupRequested):
		return &Rejection{Reason: ReasonHangupRequested, Err: err}
	case errors.Is(err, ErrDrainTimeout):
		return &Rejection{Reason: ReasonDrainTimeout, RetryAfter: 5, Err: err}
	case errors.Is(err, ErrShutdown), errors.Is(err, ErrClosed):
		return &Rejection{Reason: ReasonShutdown, RetryAfter: 5, Err: err}
	case errors.Is(err, ErrDraining):
		return &Rejection{Reason: ReasonDraining, RetryAfter: 5, Err: err}
	case errors.Is(err, ErrServiceBusy):
		return &Rejection{Reason: ReasonServiceBusy, Err: err}
	case errors.Is(err, ErrServiceNoAnswer):
		return &Rejection{Reason: ReasonNoAnswer, Err: err}
	case errors.Is(err, ErrServiceUnavailable):
		return &Rejection{Reason: ReasonServiceDown, Err: err}
	default:
		return &Rejection{Reason: ReasonInternal, Err: err}
	}
}

// serviceFailure maps a final non-2xx status of the service to the error the
// trunk's answer is chosen by: the service's own status never reaches the
// trunk (topology hiding), only its class.
func serviceFailure(code int) error {
	switch code {
	case 486, 600:
		return fmt.Errorf("service answered %d: %w", code, ErrServiceBusy)
	case 408, 480:
		return fmt.Errorf("service answered %d: %w", code, ErrServiceNoAnswer)
	default:
		return fmt.Errorf("service answered %s: %w", itoa(code), ErrServiceUnavailable)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
