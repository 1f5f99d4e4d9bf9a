package sip

import "sync"

// maxQueuedResponses bounds the responses of one client transaction that
// wait behind the one being handled. Past it a response is dropped, as a
// datagram lost on the way would be: the UAS retransmits a final response
// until it is acknowledged, and a flood of responses to one transaction
// cannot grow the queue.
const maxQueuedResponses = 32

// responseOrder hands the responses of each client transaction to the
// transaction layer in the order the transport received them.
//
// Handling a response runs on a goroutine of its own (or the layer's
// runner), and a client transaction takes one response at a time under
// its FSM lock, in whichever order the goroutines get there. A 180 and
// the 200 right behind it could reach the transaction as 200 then 180:
// the 180 is then ignored in Accepted, and the transaction's user never
// sees the call ring, nor a reliable 183's SDP before the 200. With
// responseOrder a response whose transaction has one being handled waits
// in its queue, and the goroutine handling that one takes it next; other
// transactions' responses are not held.
type responseOrder struct {
	mu sync.Mutex
	// queued holds, by client transaction key, the responses waiting for
	// the one being handled; a key is present while one is.
	queued map[string][]*Response
}

// add reports whether res should be handled now: false when a response of
// the same transaction is being handled, in which case res is queued (or,
// with maxQueuedResponses waiting, dropped) for that handler to take.
func (o *responseOrder) add(key string, res *Response) (handleNow, dropped bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q, busy := o.queued[key]
	if !busy {
		if o.queued == nil {
			o.queued = make(map[string][]*Response)
		}
		o.queued[key] = nil
		return true, false
	}
	if len(q) >= maxQueuedResponses {
		return false, true
	}
	o.queued[key] = append(q, res)
	return false, false
}

// next returns the response of key to handle after the one just handled,
// or nil, when none waits, and then the key is no longer busy.
func (o *responseOrder) next(key string) *Response {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queued[key]
	if len(q) == 0 {
		delete(o.queued, key)
		return nil
	}
	res := q[0]
	q[0] = nil
	if len(q) == 1 {
		q = nil // the backing array goes with its last response
	} else {
		q = q[1:]
	}
	o.queued[key] = q
	return res
}
