package sip

import (
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// Hold audio while a caller waits for a human (design section 11). A
// REFER to the workspace's operators (transfer.go) arms the call's
// take-over (takeover.go) and turns hold audio on (media.Session.PlayHold):
// the caller hears the hold tone in place of the agent until an operator
// is heard by it (joins or switches to barge), and again if that operator
// leaves. The agent may stay on the call (it still hears the caller and
// the operator) or hang up: the call then waits for an operator in barge,
// who has the call from then on. A wait with no operator heard for
// Config.OperatorWait gives the caller back to the agent (hold audio off,
// call.transfer_failed with reason no_operator) or, when the agent has
// left, ends the call (no_operator).

// awaitEvery is how often the wait for an operator looks at the call's
// operators.
const awaitEvery = 200 * time.Millisecond

// waitForOperator arms the take-over of a REFER to the operators and
// plays hold audio to the caller while it waits for one.
func (c *call) waitForOperator() {
	m, ok := c.warmMedia()
	if !ok {
		return
	}
	c.to.mu.Lock()
	c.to.armed, c.to.waiting = true, true
	c.to.mu.Unlock()
	if err := m.PlayHold(true); err != nil {
		c.log.Debug("hold audio", "error", err)
	}
	go c.awaitOperator(time.Now().Add(c.s.cfg.OperatorWait))
}

// awaitOperator waits, until deadline (moved on while an operator is
// heard), for an operator to have the call: one in barge once the agent
// is gone.
func (c *call) awaitOperator(deadline time.Time) {
	m, ok := c.warmMedia()
	if !ok {
		return
	}
	tick := time.NewTicker(awaitEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-tick.C:
			if done := c.checkWait(m, now, &deadline); done {
				return
			}
		}
	}
}

// checkWait is one look of awaitOperator; it reports whether the wait is
// over.
func (c *call) checkWait(m warmMedia, now time.Time, deadline *time.Time) bool {
	c.to.mu.Lock()
	defer c.to.mu.Unlock()
	if !c.to.waiting || (c.to.agentGone && c.to.op != nil) {
		return true // disarmed, or an operator has the call
	}
	op := bargingOperator(m)
	switch {
	case op != nil && c.to.agentGone:
		c.to.waiting = false
		c.operatorHasCall(op)
		return true
	case op != nil:
		*deadline = now.Add(c.s.cfg.OperatorWait) // the caller hears a human
		return false
	case now.Before(*deadline):
		return false
	case c.to.agentGone:
		c.log.Info("no operator joined the waiting caller")
		c.terminate(errNoOperator)
		return true
	}
	c.to.waiting = false
	c.to.armed = c.to.op != nil
	if err := m.PlayHold(false); err != nil {
		c.log.Debug("hold audio off", "error", err)
	}
	c.event(EventTransferFailed, map[string]any{"kind": tenancy.TransferOperators, "reason": string(ReasonNoOperator)})
	c.log.Info("no operator joined: the caller is back with the agent")
	return true
}

// bargingOperator is an operator on the call heard by the caller, if any.
func bargingOperator(m warmMedia) *media.Operator {
	for _, op := range m.Operators() {
		select {
		case <-op.Done():
			continue
		default:
		}
		if op.Mode() == media.ModeBarge && !op.Muted() {
			return op
		}
	}
	return nil
}
