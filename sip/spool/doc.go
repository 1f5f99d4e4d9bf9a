// Package spool keeps the edge's call-state writes (call records and
// events) while the store (Redis) cannot take them, and writes them, in
// order, once it can.
//
// A Spool is an ordered queue of Entries, bounded in memory (entries) and,
// with a directory, on disk (bytes). A write goes straight to the store
// when the store answered the last write and the entry's workspace has
// nothing spooled; otherwise, or when the write fails as unavailable, it is
// appended. A flusher (Run) replays the queue with backoff and removes an
// entry only once the store has applied it. Order is kept per workspace
// (records and events of a workspace live in one Redis slot): one
// workspace's backlog never holds another's live writes, and a replay pass
// skips a workspace whose entry failed and goes on with the others.
//
// # On disk
//
// The directory holds segment files seg-<number>.log of records (read in number order), each
// framed as
//
//	uint32 length (big endian) | uint32 CRC-32C of the payload | payload
//	payload: kind (1 entry, 2 ack) | uint64 seq | entry: 4 x (uvarint length, bytes): op, workspace, call id, data
//
// An entry is written (write(2)) before Append returns, so a killed edge
// loses nothing the kernel has; segments are fsynced every SyncInterval
// (default 200 ms), so a machine crash loses at most that much. An ack
// record follows each applied entry; a restarted edge replays the entries
// that have none. A segment is deleted when it and every older one are
// fully acknowledged. A torn or corrupt tail (a crash mid-write) is cut at
// the last good record and counted; the decoder is fuzzed.
//
// # Duplicates
//
// Replay applies an entry and then writes its ack: an edge killed between
// the two (microseconds; a machine crash: up to SyncInterval) replays that
// entry again after its restart. Records are HSETs of the whole record and
// slots ZADDs, so they converge; an event (XADD) is then written twice.
//
// # Bounds
//
// In memory at most MaxEntries entries; past that, entries go to disk only
// and are read back as memory frees. On disk at most MaxBytes. When the
// disk is full (or failing) entries are kept in memory only (and reported);
// when both are full the entry is dropped: counted
// (edge_spool_dropped_total{reason="full"}) and logged with its call_id and
// workspace_id. Entries held only in memory when the spool closes are
// counted and logged the same way (reason "shutdown").
package spool
