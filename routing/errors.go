package routing

import "errors"

// Sentinel errors of the package.
var (
	// ErrRunning: Run was called on a Map that is already running.
	ErrRunning = errors.New("routing: map is already running")
	// errGap: the change stream skipped sequence numbers (trimmed history
	// or a reset Redis); the follower must reload everything.
	errGap = errors.New("routing: gap in the change stream")
	// errBadSnapshot: a workspace's configuration did not decode; the map
	// keeps what it had of that workspace.
	errBadSnapshot = errors.New("routing: workspace configuration does not decode")
)
