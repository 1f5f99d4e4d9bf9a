// Package redisloss runs the real edge, edge-admin, redis-server and SIPp
// through a Redis outage with an edge restart in it (issue 12 item 5):
// nothing of the calls placed is lost. It has tests only.
package redisloss
