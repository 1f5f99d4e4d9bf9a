package media

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOperatorJoinRefusedOnG722Call: a G.722 call is relayed untouched and
// never mixed, so an operator's join is refused with ErrCodecNotMixable
// naming the codec (the operator API answers it 409).
func TestOperatorJoinRefusedOnG722Call(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadG722, PayloadG722)
	b := newBrowser(t, toneOperator)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, _, err := e.Join(ctx, c.s, "acct-listen", ModeListen, b.offer())
	if op != nil {
		_ = op.Close()
	}
	if !errors.Is(err, ErrCodecNotMixable) || !strings.Contains(err.Error(), "G722") {
		t.Fatalf("join to a G.722 call: %v, want ErrCodecNotMixable naming G722", err)
	}
	if n := len(c.s.Operators()); n != 0 {
		t.Fatalf("%d operators on the call after a refused join", n)
	}
}
