package tenancy

// EdgeACL is the Redis ACL of the edge's user (the rules after "ACL
// SETUSER <user> on ><password>"): what an edge reads and writes, and
// nothing else. It reads the change stream, the workspace index, the
// routing hashes, the workspace hashes (the operator API authenticates
// keys and reads accounts and the operator config there: they hold key
// hashes and HA1s, no secret in clear), the key index and the callers'
// projections; it writes only call state: leases, CPS counters and trunk paces, call
// records, events, call tokens, operator presence, its node's registry
// and the sweep's lock. It cannot read {ws:*}:secrets (data-source credentials, sealed
// anyway), write configuration, or run KEYS, FLUSH*, CONFIG or ACL.
// README "Redis ACL" shows it; TestEdgeACL (routing) runs an edge's routing
// load and call-state writes as this user.
var EdgeACL = []string{
	"resetkeys", "resetchannels", "-@all",
	"+@read", "+@write", "+@connection", "+@scripting", "+@keyspace",
	"-@dangerous", "-@admin", "-@pubsub",
	// Redis's clock, for the outbound trunks' pace (store_trunkpace.go).
	"+time",
	"%R~edge:workspaces", "%R~{edge}:changes", "%R~edge:apikeys",
	"%R~{ws:*}:routing", "%R~{ws:*}:cfg", "%R~{ws:*}:entities:*",
	// The tombstone is read-only in effect, but a key declared to EVAL
	// needs read and write permission.
	"%RW~{ws:*}:deleted",
	"%RW~{ws:*}:active", "%RW~{ws:*}:cps:*", "%RW~{ws:*}:calls", "%RW~{ws:*}:callidx",
	"%RW~{ws:*}:events", "%RW~{ws:*}:calltoken:*", "%RW~{ws:*}:operators", "%RW~{ws:*}:pace:*", "%RW~{ws:*}:evonce",
	"%RW~edge:node:*", "%RW~edge:node-secret",
	// The sweep's lock: one node reaps lost nodes' calls per interval.
	"%RW~edge:sweep",
	// Agent-placed calls: the dial stream and its consumer group.
	"%RW~edge:dials",
}
