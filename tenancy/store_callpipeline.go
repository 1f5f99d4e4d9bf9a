package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// CallPipeline carries the edge's call writes (WithCallClient) as one
// ordered stream of pipelined batches on its Redis client: while a batch
// is in flight, the writes that arrive queue for the next one, so a lone
// write goes at once and the writes of calls at load share round trips
// and socket writes. On a Cluster the client splits each batch by node.
//
// It has no timers: a batch leaves when the one before it is answered,
// never after a wait for more writes (go-redis's AutoPipeliner arms a
// timer per flush for that, which cost the edge 6-13% of its CPU at 800
// calls/s).
//
// Each write waits for its batch within its own context, as a write on
// the client would: while Redis stalls, a write fails when its caller's
// deadline passes (and the edge spools it), not when Redis answers. A
// stalled Redis cannot make the queue grow without bound either: past
// callPipelineMaxQueued writes, one fails at once with ErrPipelineFull.
// Nor can one workspace take the queue from the others: past
// callPipelineShare writes of its own, its next fails at once with
// ErrPipelineShare, and the rest of the queue stays for the others.
type CallPipeline struct {
	rdb  redis.UniversalClient
	wake chan struct{} // one token: the next batch has writes
	done chan struct{} // closed when the sender has ended

	mu     sync.Mutex
	next   *callBatch // the batch being filled
	closed bool

	metrics pipelineMetrics // store_callpipeline_metrics.go
}

// callBatch is the writes that go to Redis together, each with its
// caller's context; done is closed when they have all been answered (or
// failed).
type callBatch struct {
	cmds []redis.Cmder
	ctxs []context.Context
	done chan struct{}
	// per counts the batch's writes by the hash tag of their first key
	// ({ws:<id>} for a workspace's call keys), once the batch holds
	// more than callPipelineShare writes in all: below that no tag can
	// be past its share, and most batches never need the map.
	per map[string]int
}

var _ redis.Scripter = (*CallPipeline)(nil)

// ErrPipelineFull is the error of a call write made while
// callPipelineMaxQueued writes are already waiting for Redis.
var ErrPipelineFull = errors.New("redis call pipeline: queue full")

// ErrPipelineShare is the error of a call write of a workspace that has
// callPipelineShare writes waiting for Redis already. It is an
// ErrPipelineFull.
var ErrPipelineShare = fmt.Errorf("%w: the workspace's share", ErrPipelineFull)

// errPipelineClosed is the error of a call write made after Close.
var errPipelineClosed = errors.New("redis call pipeline: closed")

// NewCallPipeline returns the call pipeline of rdb and starts its sender.
// Close it before rdb.
func NewCallPipeline(rdb redis.UniversalClient) *CallPipeline {
	p := &CallPipeline{
		rdb:  rdb,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		next: newCallBatch(),
	}
	p.metrics = newPipelineMetrics(p)
	go p.send()
	return p
}

func newCallBatch() *callBatch { return &callBatch{done: make(chan struct{})} }

// callPipelineMaxQueued bounds the call writes waiting for Redis: a few
// seconds of a full node's (EDGE_MAX_SETUPS' default of 1024 calls in
// setup, three writes a call).
const callPipelineMaxQueued = 8192

// callPipelineShare bounds one workspace's writes waiting for Redis: half
// the queue. A workspace at its admission share (half of the setups in
// flight) makes about 1,500 writes; past the share are writes that no
// call's set-up bounds, such as a storm of events.
const callPipelineShare = callPipelineMaxQueued / 2

// Close sends what is queued, waits for its answers and stops the
// pipeline; writes made after it fail.
func (p *CallPipeline) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.wake)
	}
	p.mu.Unlock()
	<-p.done
	return nil
}

// send is the pipeline's one sender: it takes the batch being filled and
// runs it, then the next, until Close.
func (p *CallPipeline) send() {
	defer close(p.done)
	for range p.wake {
		p.flush()
	}
	p.flush() // what was queued between the last token and Close
}

func (p *CallPipeline) flush() {
	p.mu.Lock()
	b := p.next
	if len(b.cmds) == 0 { // its writes went with the batch before
		p.mu.Unlock()
		return
	}
	p.next = newCallBatch()
	p.mu.Unlock()
	// A write whose caller has given up (and spooled it) is not sent: after
	// a stall, Redis gets the writes still awaited, not a backlog of
	// abandoned ones. It holds its context's error, for a caller whose wait
	// sees the batch done and its context ended at once and takes the
	// batch's command. The client's read and write timeouts bound a stalled
	// Redis; each command sent carries its own error, set by Exec.
	pipe := p.rdb.Pipeline()
	for i, c := range b.cmds {
		if err := b.ctxs[i].Err(); err != nil {
			c.SetErr(err)
			continue
		}
		_ = pipe.Process(context.Background(), c)
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(context.Background())
	}
	close(b.done)
}

// do queues cmd for the next batch and waits for its answer within ctx.
// A command whose wait ends with ctx stays its batch's, which may still
// run it: the caller gets a command of its own holding ctx's error.
func (p *CallPipeline) do(ctx context.Context, cmd *redis.Cmd, argv []any, key string) *redis.Cmd {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		cmd.SetErr(errPipelineClosed)
		return cmd
	case len(p.next.cmds) >= callPipelineMaxQueued:
		p.mu.Unlock()
		p.metrics.full.Inc()
		cmd.SetErr(ErrPipelineFull)
		return cmd
	}
	b := p.next
	if !b.take(key) {
		p.mu.Unlock()
		p.metrics.share.Inc()
		cmd.SetErr(ErrPipelineShare)
		return cmd
	}
	b.cmds = append(b.cmds, cmd)
	b.ctxs = append(b.ctxs, ctx)
	select {
	case p.wake <- struct{}{}:
	default: // the sender has a token already
	}
	p.mu.Unlock()

	select {
	case <-b.done:
		return cmd
	case <-ctx.Done():
		abandoned := redis.NewCmd(ctx, argv...)
		abandoned.SetErr(ctx.Err())
		return abandoned
	}
}

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

// ScriptExists and ScriptLoad are rare (a script's first run on a node):
// they go on the client.
func (p *CallPipeline) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.rdb.ScriptExists(ctx, hashes...)
}

func (p *CallPipeline) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.rdb.ScriptLoad(ctx, script)
}

// eval queues the script command name (EVAL, EVALSHA and their read-only
// forms).
func (p *CallPipeline) eval(ctx context.Context, name, payload string, keys []string, args []any) *redis.Cmd {
	argv := make([]any, 0, 3+len(keys)+len(args))
	argv = append(argv, name, payload, len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	argv = append(argv, args...)
	cmd := redis.NewCmd(ctx, argv...)
	var key string
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // a cluster routes it by its first key's slot
		key = keys[0]
	}
	return p.do(ctx, cmd, argv, key)
}

// take counts a write whose first key is key into the batch, unless the
// key's hash tag holds its share of it already. Before the batch holds a
// share in all nothing is counted, not even the tag; the map then starts
// from the writes already in.
func (b *callBatch) take(key string) bool {
	if b.per == nil {
		if len(b.cmds) < callPipelineShare {
			return true
		}
		b.per = make(map[string]int)
		for _, c := range b.cmds {
			b.per[hashTag(firstKey(c))]++
		}
	}
	tag := hashTag(key)
	if b.per[tag] >= callPipelineShare {
		return false
	}
	b.per[tag]++
	return true
}

// firstKey is the first key of a queued script command ("" for none).
func firstKey(c redis.Cmder) string {
	args := c.Args()
	if len(args) < 4 {
		return ""
	}
	k, _ := args[3].(string)
	return k
}

// hashTag is a key's hash tag, what a Cluster places it by: the part
// between its first { and the next }, or the whole key when it has none
// (Redis Cluster specification, "Hash tags").
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
