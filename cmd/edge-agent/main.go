// Command edge-agent is a reference voice agent for the edge: a SIP UAS
// that answers every INVITE with a PCMU (or PCMA) SDP answer and echoes
// the RTP it receives back to its source, until BYE. It logs the edge's
// X- headers of each call. It is what `make run` bridges calls to, and a
// model of what a service must do.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	addr := flag.String("sip", envOr("EDGE_AGENT_SIP_ADDR", "127.0.0.1:5070"), "SIP listen address, UDP and TCP (env EDGE_AGENT_SIP_ADDR)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	err := run(ctx, *addr, log)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge-agent: %v\n", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, addr string, log *slog.Logger) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("sip address %q: %w", addr, err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("edge-agent"))
	if err != nil {
		return err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return err
	}
	client, err := sipgo.NewClient(ua)
	if err != nil {
		return err
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: ap.Addr().String(), Port: int(ap.Port())}}
	dialogs := sipgo.NewDialogServerCache(client, contact)
	a := &agent{ip: ap.Addr(), dialogs: dialogs, log: log}
	srv.OnInvite(a.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	go func() { <-ctx.Done(); pc.Close(); ln.Close() }()
	go func() { _ = srv.ServeTCP(ln) }()
	log.Info("edge-agent listening", "sip", addr)
	if err := srv.ServeUDP(pc); err != nil && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		return err
	}
	return nil
}

type agent struct {
	ip      netip.Addr
	dialogs *sipgo.DialogServerCache
	log     *slog.Logger
}

// onInvite answers with an echo of the offered audio.
func (a *agent) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	log := a.log
	for _, h := range []string{"X-Edge-Call-ID", "X-Workspace-ID", "X-Service-ID", "X-Environment", "X-Caller", "X-Called", "X-Voice-Settings"} {
		if v := req.GetHeader(h); v != nil {
			log = log.With(h, v.Value())
		}
	}
	dlg, err := a.dialogs.ReadInvite(req, tx)
	if err != nil {
		log.Warn("read invite", "error", err)
		return
	}
	defer dlg.Close()
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = dlg.Respond(400, "Bad Request (SDP)", nil)
		return
	}
	ans, err := media.Negotiate(offer, nil)
	if err != nil {
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		return
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, 0)))
	if err != nil {
		_ = dlg.Respond(503, "Service Unavailable", nil)
		return
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	body, err := media.BuildSDP(media.SDPParams{
		Addr: a.ip, Port: port, SessionID: 1, SessionVersion: 1, Codecs: []media.Codec{ans.Codec},
		TelephoneEventPT: ans.TelephoneEventPT, Direction: ans.Direction, Ptime: ans.Ptime,
	})
	if err != nil {
		_ = dlg.Respond(500, "Server Internal Error", nil)
		return
	}
	_ = dlg.Respond(180, "Ringing", nil)
	if err := dlg.RespondSDP(body); err != nil {
		log.Warn("answer", "error", err)
		return
	}
	log.Info("call answered", "rtp_port", port, "codec", ans.Codec.Name)
	go func() { <-dlg.Context().Done(); conn.Close() }()
	echo(conn)
	log.Info("call ended")
}

// echo sends every datagram back to where it came from until conn closes.
func echo(conn *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		_, _ = conn.WriteToUDPAddrPort(buf[:n], from)
	}
}
