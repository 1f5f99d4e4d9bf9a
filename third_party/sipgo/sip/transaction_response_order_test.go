package sip

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestTransactionLayerResponseOrder: a client transaction gets its
// responses in the order they arrived, even when the runner starts their
// handlers in the opposite order; a transaction whose user does not read
// its responses holds none of another transaction's.
func TestTransactionLayerResponseOrder(t *testing.T) {
	// RFC 3261's timers (another test of the package may have left them
	// shorter than the runner's delay): Timer B must not end the INVITE.
	t1, t2, t4 := T1, T2, T4
	SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second)
	t.Cleanup(func() { SetTimers(t1, t2, t4) })
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := NewTransportLayer(net.DefaultResolver, NewParser(), nil)
	defer tp.Close()

	// The runner gathers what is handed to it for 300 ms (or two jobs)
	// and starts the last first, the earlier 50 ms later: a 200 handed
	// over right behind its 180 would reach the transaction first.
	var mu sync.Mutex
	var batch []func()
	run := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		batch = append(batch, f)
		if len(batch) == 1 {
			time.AfterFunc(300*time.Millisecond, func() { startReversed(&mu, &batch) })
		} else if len(batch) == 2 {
			go startReversed(&mu, &batch)
		}
	}
	txl := NewTransactionLayer(tp, WithTransactionLayerRunner(run))
	defer txl.Close()
	go func() { _ = tp.ServeUDP(pc) }()

	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	invite := func(t *testing.T) (*Request, *ClientTx) {
		req, _, _ := testCreateInvite(t, "sip:peer@"+peer.LocalAddr().String(), "UDP", pc.LocalAddr().String())
		req.SetDestination(peer.LocalAddr().String())
		tx, err := txl.Request(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tx.Terminate)
		return req, tx
	}
	send := func(t *testing.T, req *Request, codes ...int) {
		for _, code := range codes {
			res := NewResponseFromRequest(req, code, strconv.Itoa(code), nil)
			if code >= 200 {
				res.To().Params.Add("tag", "uas")
			}
			if _, err := peer.WriteTo([]byte(res.String()), pc.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("180 then 200", func(t *testing.T) {
		req, tx := invite(t)
		send(t, req, 180, 200)
		for _, want := range []int{180, 200} {
			select {
			case res := <-tx.Responses():
				if res.StatusCode != want {
					t.Fatalf("got %d, want %d", res.StatusCode, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no %d", want)
			}
		}
	})

	t.Run("another transaction is not held", func(t *testing.T) {
		stuck, _ := invite(t) // its user never reads: its 180's handler blocks in the transaction
		send(t, stuck, 180, 183)
		time.Sleep(400 * time.Millisecond) // the stuck 180 is being handled, its 183 queued
		req, tx := invite(t)
		send(t, req, 200)
		select {
		case res := <-tx.Responses():
			if res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a transaction's response waited behind another's")
		}
	})
}

// startReversed starts the batched jobs, last first, 50 ms apart.
func startReversed(mu *sync.Mutex, batch *[]func()) {
	mu.Lock()
	jobs := *batch
	*batch = nil
	mu.Unlock()
	for i := len(jobs) - 1; i >= 0; i-- {
		go jobs[i]()
		time.Sleep(50 * time.Millisecond)
	}
}

// TestResponseOrderQueueBound: past maxQueuedResponses waiting, a
// transaction's responses are dropped; the queue drains in order and the
// key is then free.
func TestResponseOrderQueueBound(t *testing.T) {
	var o responseOrder
	first := &Response{StatusCode: 100}
	if now, dropped := o.add("k", first); !now || dropped {
		t.Fatalf("first: now %v dropped %v", now, dropped)
	}
	for i := 0; i < maxQueuedResponses; i++ {
		if now, dropped := o.add("k", &Response{StatusCode: 101 + i}); now || dropped {
			t.Fatalf("queued %d: now %v dropped %v", i, now, dropped)
		}
	}
	if _, dropped := o.add("k", &Response{StatusCode: 200}); !dropped {
		t.Fatal("a response past the bound was queued")
	}
	if now, _ := o.add("other", &Response{StatusCode: 200}); !now {
		t.Fatal("another key waited")
	}
	for i := 0; i < maxQueuedResponses; i++ {
		if res := o.next("k"); res == nil || res.StatusCode != 101+i {
			t.Fatalf("next %d: %v", i, res)
		}
	}
	if res := o.next("k"); res != nil {
		t.Fatalf("drained queue gave %d", res.StatusCode)
	}
	if now, _ := o.add("k", first); !now {
		t.Fatal("the key stayed busy")
	}
}
