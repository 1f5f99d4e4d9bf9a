// Package routing is the edge's in-memory tenant map (design sections 2, 3
// and 7). It answers "who owns this number, through which trunks, to which
// service" from memory, with no network round trip and, for the usual forms
// of a dialled number, no allocation.
//
// A Map is fed from Redis through the tenancy store. Run loads every
// workspace's snapshot at start, noting the head of the change stream first
// so that nothing written during the load is missed, then follows the change
// stream: each change reloads the snapshot of its workspace (unless the map
// already holds that version or a newer one) and "delete_workspace" drops
// it. The stream's gap-free sequence tells a follower that it fell behind
// the trimmed history; it then reloads everything. A periodic reconciliation
// compares the loaded versions with Redis to heal a writer that crashed
// between its commit and its announcement.
//
// Until the first full load succeeds the map is not ready. When Redis is lost
// later the map keeps serving the last good table, reports itself degraded,
// and reloads everything once Redis answers again.
//
// The current table is immutable and swapped with an atomic pointer:
// readers never lock, and a *Route or *WorkspaceView they hold stays valid
// (and unchanged) after the map moves on.
//
// Metrics (namespace edge, subsystem routing): map_version (change-stream
// sequence reflected), workspaces, numbers, last_sync_timestamp_seconds,
// staleness_seconds, degraded, ready, reloads_total{reason=start|gap|
// reconnect|reconcile}, redis_errors_total, bad_items_total, changes_total,
// reconciliations_total and lookups_total{result=hit|miss}.
package routing
