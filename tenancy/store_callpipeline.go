package tenancy

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// CallPipeline carries the edge's call writes (WithCallClient) through an
// auto-pipeliner of its Redis client: one ordered stream of batches, each
// taking the writes queued while the one before it was in flight, so that
// a lone write goes at once and the writes of calls at load share round
// trips and socket writes (go-redis's AutoPipeliner, deferred face).
//
// Each write waits for its batch within its own context, as a write on
// the client would: while Redis stalls, a write fails when its caller's
// deadline passes (and the edge spools it), not when Redis answers. A
// stalled Redis cannot make the queue grow without bound either: past
// callPipelineMaxQueued writes, one fails at once.
type CallPipeline struct {
	ap *redis.AutoPipeliner
}

var _ redis.Scripter = (*CallPipeline)(nil)

// NewCallPipeline returns the call pipeline of rdb. Close it before rdb.
func NewCallPipeline(rdb redis.UniversalClient) (*CallPipeline, error) {
	o := redis.DefaultAutoPipelineOptions()
	o.MaxQueuedCommands = callPipelineMaxQueued
	ap, err := rdb.AsyncAutoPipelineWithOptions(o)
	if err != nil {
		return nil, fmt.Errorf("redis auto-pipeline: %w", err)
	}
	return &CallPipeline{ap: ap}, nil
}

// callPipelineMaxQueued bounds the call writes waiting for Redis: a few
// seconds of a full node's (EDGE_MAX_SETUPS' default of 1024 calls in
// setup, three writes a call).
const callPipelineMaxQueued = 8192

// Close sends what is queued and stops the pipeline.
func (p *CallPipeline) Close() error { return p.ap.Close() }

func (p *CallPipeline) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "eval", script, keys, args)
}

func (p *CallPipeline) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "evalsha", sha, keys, args)
}

func (p *CallPipeline) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "eval_ro", script, keys, args)
}

func (p *CallPipeline) EvalShaRO(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "evalsha_ro", sha, keys, args)
}

func (p *CallPipeline) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.ap.ScriptExists(ctx, hashes...)
}

func (p *CallPipeline) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.ap.ScriptLoad(ctx, script)
}

// eval queues the script command name (EVAL, EVALSHA and their read-only
// forms) and waits for it within ctx. A command whose wait ends with ctx
// stays its batch's, which may still run it: the caller gets a command
// of its own holding ctx's error.
func (p *CallPipeline) eval(ctx context.Context, name, payload string, keys []string, args []any) *redis.Cmd {
	argv := make([]any, 0, 3+len(keys)+len(args))
	argv = append(argv, name, payload, len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	argv = append(argv, args...)
	cmd := redis.NewCmd(ctx, argv...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // a cluster routes it by its first key's slot
	}
	if err := p.ap.Submit(ctx, cmd).WaitContext(ctx); err != nil && ctx.Err() != nil && err == ctx.Err() {
		abandoned := redis.NewCmd(ctx, argv...)
		abandoned.SetErr(err)
		return abandoned
	}
	return cmd
}
