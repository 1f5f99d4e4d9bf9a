package routing

import (
	"context"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// Source is what the map needs of the tenant store: the list of
// workspaces, their snapshots and versions, and the change stream.
// *tenancy.Store implements it; errors wrap tenancy.ErrUnavailable when
// Redis cannot be reached and tenancy.ErrNotFound for a workspace that is
// gone.
type Source interface {
	// ListWorkspaceIDs returns every workspace id.
	ListWorkspaceIDs(ctx context.Context) ([]string, error)
	// LoadSnapshot reads the routing configuration of one workspace.
	LoadSnapshot(ctx context.Context, ws string) (*tenancy.Snapshot, error)
	// ChangesHead returns the stream id and sequence of the newest change.
	ChangesHead(ctx context.Context) (string, int64, error)
	// ReadChanges waits up to wait for changes after stream id after; a
	// wait of zero or less must not block.
	ReadChanges(ctx context.Context, after string, wait time.Duration) ([]tenancy.Change, error)
	// WorkspaceVersions returns the version of each workspace (0: gone).
	WorkspaceVersions(ctx context.Context, ids []string) (map[string]int64, error)
}

var _ Source = (*tenancy.Store)(nil)
