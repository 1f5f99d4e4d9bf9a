package sip

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/emiago/sipgo/fakes"
	"github.com/stretchr/testify/require"
)

// A terminated transaction must not stay reachable from its timers: Timer L
// and Timer M (64*T1) would keep its request, its 2xx and its callbacks
// for 32 s after Terminate.
func TestServerTxTerminateStopsTimerL(t *testing.T) {
	req, _, _ := testCreateInvite(t, "sip:127.0.0.99:5060", "UDP", "127.0.0.2:5060")
	conn := &UDPConnection{PacketConn: &fakes.UDPConn{
		Reader:  bytes.NewBuffer(nil),
		Writers: map[string]io.Writer{"127.0.0.2:5060": bytes.NewBuffer(nil)},
	}}
	tx := NewServerTx("123", req, conn, slog.Default())
	require.NoError(t, tx.Init())
	require.NoError(t, tx.Respond(NewResponseFromRequest(req, StatusOK, "OK", nil)))
	require.NoError(t, compareFunctions(tx.currentFsmState(), tx.inviteStateAccepted))
	tx.mu.Lock()
	require.NotNil(t, tx.timer_l)
	tx.mu.Unlock()

	tx.Terminate()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	require.Nil(t, tx.timer_l, "Terminate must stop Timer L")
}

func TestClientTxTerminateStopsTimerM(t *testing.T) {
	req, _, _ := testCreateInvite(t, "sip:127.0.0.99:5060", "udp", "127.0.0.2:5060")
	req.raddr = Addr{IP: net.ParseIP("127.0.0.99"), Port: 5060}
	conn := &UDPConnection{PacketConn: &fakes.UDPConn{
		Reader:  bytes.NewBuffer(nil),
		Writers: map[string]io.Writer{"127.0.0.99:5060": bytes.NewBuffer(nil)},
	}}
	tx := NewClientTx("123", req, conn, slog.Default())
	require.NoError(t, tx.Init())
	go func() { <-tx.Responses() }()
	tx.Receive(NewResponseFromRequest(req, StatusOK, "OK", nil))
	require.NoError(t, compareFunctions(tx.currentFsmState(), tx.inviteStateAccepted))
	tx.mu.Lock()
	require.NotNil(t, tx.timer_m)
	tx.mu.Unlock()

	tx.Terminate()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	require.Nil(t, tx.timer_m, "Terminate must stop Timer M")
}

// A completed non-INVITE transaction over UDP keeps only what answering
// retransmissions needs: the key, the method and the final response's
// bytes.
func TestServerTxNonInviteCompletedReleasesOrigin(t *testing.T) {
	req := testCreateRequest(t, "BYE", "sip:example.com", "UDP", "127.0.0.1:5060")
	outgoing := bytes.NewBuffer(nil)
	conn := &UDPConnection{PacketConn: &fakes.UDPConn{
		Reader:  bytes.NewBuffer(nil),
		Writers: map[string]io.Writer{"127.0.0.1:5060": outgoing},
	}}
	conn.Ref(1)
	tx := NewServerTx("123", req, conn, slog.Default())
	require.NoError(t, tx.Init())
	t.Cleanup(tx.Terminate)
	require.Same(t, req, tx.Origin())

	res := NewResponseFromRequest(req, StatusOK, "OK", nil)
	require.NoError(t, tx.Respond(res))
	require.NoError(t, compareFunctions(tx.currentFsmState(), tx.stateCompleted))
	origin := tx.Origin()
	require.Equal(t, BYE, origin.Method)
	require.Nil(t, origin.Via(), "the request's headers are released")

	tx.fsmMu.Lock()
	require.Nil(t, tx.fsmResp, "the parsed response is released")
	require.NotNil(t, tx.wire, "the response as sent is kept")
	tx.fsmMu.Unlock()
	tx.TerminateGracefully() // finalized: it stays for Timer J

	// The retransmitted request is answered with the same response.
	first := outgoing.String()
	outgoing.Reset()
	require.NoError(t, tx.Receive(req))
	require.Equal(t, first, outgoing.String())
	require.True(t, strings.HasPrefix(first, "SIP/2.0 200 OK"))

	select {
	case <-tx.Done():
		t.Fatal("the completed transaction must wait for Timer J")
	default:
	}
}
