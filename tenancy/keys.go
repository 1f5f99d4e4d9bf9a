package tenancy

// The Redis schema. Workspace keys share the hash tag {ws:<id>} so that a
// workspace lives in one Redis Cluster slot and its writes can be one
// MULTI/EXEC; the global keys are few and small.
//
//	{ws:<id>}:cfg        hash  workspace, version, service:<id>, number:<e164>,
//	                           trunk:<id>, outbound_trunk:<id>, safety_policy:<id>, data_source:<id>,
//	                           voice_settings, operator_config, billing,
//	                           account:<id>, api_key:<id>
//	{ws:<id>}:events     stream  audit and call events of the workspace
//	{ws:<id>}:calls      hash  call id -> CallRecord JSON
//	{ws:<id>}:callidx    zset  call id by start time (ms), for paging
//	{ws:<id>}:active     zset  call id -> lease expiry (ms): calls in progress
//	{ws:<id>}:cps:<sec>  string  calls admitted in that second
//	{ws:<id>}:calltoken:<sha256>  string  call token record (calltoken.go)
//	{ws:<id>}:entities:<kind>     hash    world-model projections, id -> entity JSON
//	{ws:<id>}:projection:cursor   string  last event applied to them
//	{ws:<id>}:projection:open     hash    calls in progress, as the projections know them
//	edge:workspaces      set   workspace ids
//	edge:numbers         hash  e164 -> workspace id (a number has one owner)
//	edge:apikeys         hash  sha256(secret) -> workspace id "/" key id
//	{edge}:changes       stream  the change stream edges follow
//	{edge}:changes:seq   string  its gap-free sequence
//	edge:node:<id>:ctl   stream  control requests (hang up) for one edge node
//	edge:dials           stream  agent-placed calls to dial (store_dials.go)
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
