package tenancy

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. Callers map them to protocol statuses in one
// place (the admin API to HTTP, the edge to SIP).
var (
	// ErrNotFound: the resource does not exist, or belongs to another
	// workspace; the two are indistinguishable on purpose.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write collides with existing state (a number owned by
	// some workspace, an id taken, a reference still in use).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a field failed validation; see *ValidationError.
	ErrInvalid = errors.New("invalid")
	// ErrPromotionRequired: a direct change of agent-behaviour configuration
	// of a production workspace that does not allow direct changes.
	ErrPromotionRequired = errors.New("production workspace: change by promotion from staging")
	// ErrUnavailable: the store (Redis) cannot be reached.
	ErrUnavailable = errors.New("store unavailable")
	// ErrUnauthenticated: no key, or a key that is unknown or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the key is known but its role does not allow the action.
	ErrForbidden = errors.New("forbidden")
)

// ValidationError names the field that failed and why. It matches ErrInvalid
// with errors.Is, or Err when set (ErrTooLarge for a value over its bound).
type ValidationError struct {
	Field  string
	Reason string
	Err    error
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// Is reports whether target is ErrInvalid (or e.Err when set).
func (e *ValidationError) Is(target error) bool {
	if e.Err != nil {
		return target == e.Err
	}
	return target == ErrInvalid
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ConflictError explains a conflict; it matches ErrConflict with errors.Is.
type ConflictError struct {
	Reason string
}

func (e *ConflictError) Error() string { return e.Reason }

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func conflict(format string, args ...any) error {
	return &ConflictError{Reason: fmt.Sprintf(format, args...)}
}
