package operators

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/tenancy"
)

// Error codes of the error object {"error": {"code", "message"}}, the same
// as the admin API's.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthenticated  = "unauthenticated"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodePayloadTooLarge  = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalid          = "invalid"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeBadGateway       = "bad_gateway"
	CodeInternal         = "internal"
)

// Sentinel errors of the package; tenancy's and media's sentinels cover the
// rest. They are wrapped with %w and what was being done.
var (
	// ErrInvalidConfig reports a Config that fails Validate.
	ErrInvalidConfig = errors.New("operators: invalid config")
	// ErrMalformed: a body or parameter that is not of the expected shape
	// (400).
	ErrMalformed = errors.New("malformed request")
	// ErrTooLarge: a JSON body over 64 KiB (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrUnsupportedMedia: a body of the wrong Content-Type (415).
	ErrUnsupportedMedia = errors.New("unsupported content type")
	// ErrRateLimited: too many join attempts with one key, escalations of
	// one workspace, or failed authentications from one address (429).
	ErrRateLimited = errors.New("too many requests, try again later")
	// ErrTooManyOperators: the call has Config.MaxOperatorsPerCall
	// operators already (409).
	ErrTooManyOperators = errors.New("the call has as many operators as it may have")
	// ErrMethodNotAllowed: the path exists but not with this method (405).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrCallNotActive: the call exists but has ended, or its node is gone
	// (409).
	ErrCallNotActive = errors.New("the call is not active")
	// ErrNodeUnreachable: the node holding the call did not answer a
	// forwarded request (502).
	ErrNodeUnreachable = errors.New("the edge node holding the call cannot be reached")
	// ErrStreamsFull: too many event streams are open (503).
	ErrStreamsFull = errors.New("too many event streams open, try again later")
	// ErrNoProjections: this edge reads no caller projections
	// (WithCallers was not given) (503).
	ErrNoProjections = errors.New("caller projections are not available on this edge")
	// ErrClosed: the handler is closed (503).
	ErrClosed = errors.New("operators: closed")
)

// retryError asks the client to come back after a delay (429, 503).
type retryError struct {
	err        error
	retryAfter int // seconds, >= 1
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// apiError is the error object a failure is answered with.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// errorTable maps causes to statuses, first match wins. It is the only
// place that decides an error's HTTP status.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{ErrMalformed, http.StatusBadRequest, CodeBadRequest},
	{media.ErrNoPCMU, http.StatusUnprocessableEntity, CodeInvalid},
	{media.ErrBadOffer, http.StatusBadRequest, CodeBadRequest},
	{media.ErrInvalidMode, http.StatusUnprocessableEntity, CodeInvalid},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, CodePayloadTooLarge},
	{ErrUnsupportedMedia, http.StatusUnsupportedMediaType, CodeUnsupportedMedia},
	{ErrRateLimited, http.StatusTooManyRequests, CodeRateLimited},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
	{ErrCallNotActive, http.StatusConflict, CodeConflict},
	{sip.ErrCallNotLive, http.StatusConflict, CodeConflict},
	{sip.ErrNotBarging, http.StatusConflict, CodeConflict},
	{sip.ErrTakenOver, http.StatusConflict, CodeConflict},
	{ErrTooManyOperators, http.StatusConflict, CodeConflict},
	{media.ErrClosed, http.StatusConflict, CodeConflict},
	{media.ErrCodecNotMixable, http.StatusConflict, CodeConflict},
	{ErrNodeUnreachable, http.StatusBadGateway, CodeBadGateway},
	{ErrStreamsFull, http.StatusServiceUnavailable, CodeUnavailable},
	{ErrClosed, http.StatusServiceUnavailable, CodeUnavailable},
	{ErrNoProjections, http.StatusServiceUnavailable, CodeUnavailable},
	{tenancy.ErrUnauthenticated, http.StatusUnauthorized, CodeUnauthenticated},
	{tenancy.ErrForbidden, http.StatusForbidden, CodeForbidden},
	{tenancy.ErrNotFound, http.StatusNotFound, CodeNotFound},
	{tenancy.ErrConflict, http.StatusConflict, CodeConflict},
	{tenancy.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid},
	{tenancy.ErrUnavailable, http.StatusServiceUnavailable, CodeUnavailable},
}

// toAPIError maps err to its response. A 404 always reads "not found", so
// that a call of another workspace and a call that does not exist answer
// the same bytes; internal errors are not shown to clients.
func toAPIError(err error) apiError {
	for _, row := range errorTable {
		if !errors.Is(err, row.err) {
			continue
		}
		e := apiError{Status: row.status, Code: row.code, Message: err.Error()}
		var ve *tenancy.ValidationError
		switch {
		case errors.As(err, &ve):
			e.Field, e.Message = ve.Field, ve.Error()
		case row.err == media.ErrNoPCMU:
			e.Field = "sdp"
			e.Message = "the offer has no active audio stream offering PCMU/8000, the only codec of operator legs"
		case row.err == media.ErrBadOffer:
			e.Field = "sdp"
		case row.err == media.ErrInvalidMode:
			e.Field = "mode"
		case row.err == tenancy.ErrUnavailable:
			e.Message = "the store is unavailable, try again later"
		case row.err == tenancy.ErrNotFound:
			e.Message = "not found"
		case row.err == tenancy.ErrUnauthenticated:
			e.Message = "missing, unknown or revoked API key"
		}
		return e
	}
	return apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// invalid is a validation failure of field, 422.
func invalid(field, format string, args ...any) error {
	return &tenancy.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// forbidden is a 403 that says why.
func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", tenancy.ErrForbidden, fmt.Sprintf(format, args...))
}

// malformed is a 400 that says why.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
