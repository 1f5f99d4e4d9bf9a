package tenancy

// The Redis schema, and where each key lives on a Redis Cluster.
//
// Workspace keys share the hash tag {ws:<id>}, so a workspace lives in one
// cluster slot (one master and its replicas): its configuration write is one
// MULTI/EXEC, and each call-admission Lua script (admitScript) touches only
// keys of that slot. Different workspaces spread over the masters.
//
//	{ws:<id>}:cfg        hash  workspace, version, service:<id>, number:<e164>,
//	                           trunk:<id>, outbound_trunk:<id>, safety_policy:<id>, data_source:<id>,
//	                           voice_settings, operator_config, billing,
//	                           account:<id>, api_key:<id>
//	{ws:<id>}:routing    hash  what edges load: a projection of cfg written in the
//	                           same transaction (store_routing.go), with its own version
//	{ws:<id>}:secrets    hash  data_source:<id> -> credentials sealed with AES-GCM
//	                           (store_secrets.go); no edge can read it (acl.go)
//	{ws:<id>}:deleted    string  tombstone of a deleted workspace (store_tombstone.go)
//	{ws:<id>}:operators  hash  operators on calls, with leases
//	{ws:<id>}:events     stream  audit and call events of the workspace
//	{ws:<id>}:evonce     zset  keys of the latest events the edge wrote, so a replay writes none twice (store_event_once.go)
//	{ws:<id>}:calls      hash  call id -> CallRecord JSON
//	{ws:<id>}:callidx    zset  call id by start time (ms), for paging
//	{ws:<id>}:active     zset  call id -> lease expiry (ms): calls in progress;
//	                           an expired member is a call of a lost node, reaped
//	                           (slot freed, record ended node_lost, call.ended) by
//	                           one script in this slot (store_reap.go)
//	{ws:<id>}:cps:<sec>  string  calls admitted in that second
//	{ws:<id>}:pace:<trunk>  string  next free dial time of an outbound trunk (store_trunkpace.go)
//	{ws:<id>}:calltoken:<sha256>  string  call token record (calltoken.go)
//	{ws:<id>}:entities:<kind>     hash    world-model projections, id -> entity JSON
//	{ws:<id>}:projection:cursor   string  last event applied to them
//	{ws:<id>}:projection:open     hash    calls in progress, as the projections know them
//	{ws:<id>}:operators  hash  operators on the workspace's calls (store_nodes.go)
//
// The global keys are each one key in a slot of its own (no hash tag, or
// the shared tag {edge} for the change stream and its sequence, which the
// announce script updates together). No transaction or script spans a
// global key and a workspace key: a write that needs both (claiming a
// number, indexing an API key, creating a workspace) writes the global
// index first, on its own (HSETNX decides racing claims), then the
// workspace transaction, and undoes the index entry when that fails; the
// change-stream entry comes after the workspace commit. A follower that
// reads a change therefore finds the workspace already at that version;
// a writer that dies between the steps leaves at most an index entry that
// names the workspace without the workspace holding the item (that
// workspace can still claim the number; no other can until it is
// released).
//
//	edge:workspaces      set   workspace ids
//	edge:numbers         hash  e164 -> workspace id (a number has one owner)
//	edge:apikeys         hash  sha256(secret) -> workspace id "/" key id
//	{edgecidrs}:owners   hash  workspace id "/" trunk id -> its CIDRs as bit strings
//	{edgecidrs}:index    zset  "<bits>|<ws>/<trunk>": overlaps between workspaces
//	                           refused in O(prefix length log n) (store_cidrs.go)
//	{edge}:changes       stream  the change stream edges follow
//	{edge}:changes:seq   string  its gap-free sequence
//	edge:node:<id>:ctl   stream  control requests (hang up) for one edge node
//	edge:dials           stream  agent-placed calls to dial (store_dials.go)
//	edge:node:<id>:http  string  the node's HTTP address, with a TTL
//	edge:node-secret     string  the secret nodes sign forwarded operator requests with
//	edge:sweep           string  the node sweeping lost nodes' calls this interval
//	                             (SET NX PX LeaseTTL/2; store_reap.go)
//
// There is no per-node index of calls: a node that restarts with the same
// id finds its previous process's calls by reading each workspace's active
// set and records in that workspace's slot (ReapNode, one script per
// workspace, pipelined), O(workspaces + active calls) once per start, so
// no write of a call touches a key outside its workspace's slot.
//
// Durability across a failover: Redis replicates asynchronously, so a
// master that dies right after a write can lose it. With WithReplicaAck
// (on for Cluster and Sentinel) each configuration write, its index entry
// and its change-stream entry wait (WAIT 1, on the connection that wrote
// them) for a replica before the write reports success. Call state (call
// records, leases, events) does not wait: it is written at call rates, and
// a lease lost in a failover is renewed by its edge within seconds.
const (
	keyWorkspaces = "edge:workspaces"
	keyNumbers    = "edge:numbers"
	keyAPIKeys    = "edge:apikeys"
	keyChanges    = "{edge}:changes"
	keyChangesSeq = "{edge}:changes:seq"
)

func wsTag(ws string) string        { return "{ws:" + ws + "}" }
func keyCfg(ws string) string       { return wsTag(ws) + ":cfg" }
func keyEvents(ws string) string    { return wsTag(ws) + ":events" }
func keyCalls(ws string) string     { return wsTag(ws) + ":calls" }
func keyCallIdx(ws string) string   { return wsTag(ws) + ":callidx" }
func keyActive(ws string) string    { return wsTag(ws) + ":active" }
func keyNodeCtl(node string) string { return "edge:node:" + node + ":ctl" }

// Fields of the workspace hash that are not configuration kinds.
const (
	fieldWorkspace = "workspace"
	fieldVersion   = "version"
	prefixAccount  = "account:"
	prefixAPIKey   = "api_key:"
)
