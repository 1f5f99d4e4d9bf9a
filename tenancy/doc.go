// Package tenancy is the domain of the telephony edge: workspaces and their
// environments, accounts, roles and API keys, phone numbers, trunks,
// services, voice settings, operator configuration, safety policies, data
// sources, billing, call records and events; the world model (domain
// events and the entity projections of each workspace's event stream,
// projection.go) and the call tokens services read their call's context
// with (calltoken.go).
//
// It holds the validation of every field, the permission matrix (who may do
// what, as data in one place) and the Redis schema with its store. Every key
// of a workspace carries the hash tag {ws:<id>} so that a workspace lives in
// one Redis Cluster slot; the few global indexes (number -> workspace, API
// key hash -> account, the list of workspaces and the change stream) are
// small. Every configuration write is an optimistic MULTI/EXEC transaction
// inside the workspace's slot that bumps the workspace's version, appends an
// audit event to the workspace's event stream and is then announced on the
// global change stream that edges follow.
//
// The package knows nothing of SIP, RTP or HTTP.
package tenancy
