package spool

import "errors"

var (
	// ErrFull: both bounds are reached and the entry was dropped.
	ErrFull = errors.New("spool full")
	// ErrCorrupt: a record on disk fails its length or checksum.
	ErrCorrupt = errors.New("spool record corrupt")
	// errShort: a record is cut short (a torn write at a segment's end).
	errShort = errors.New("spool record short")
	// ErrLocked: another process holds the spool directory.
	ErrLocked = errors.New("spool directory in use")
)
