package media

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// listenICE opens the one UDP port that carries ICE for every operator leg
// and wraps it in a mux that demultiplexes by ICE username (RFC 8445
// section 7.3, the single-port mode of pion/ice). With conn given it is
// used as is. A specific ICEAddr is one socket; the unspecified address
// binds the port on every interface (one socket each, as pion/ice needs
// to know the address a candidate stands for).
func listenICE(cfg WebRTCConfig, conn net.PacketConn, log *slog.Logger) (ice.UDPMux, netip.AddrPort, error) {
	logger := pionLoggerFactory{log: log}.NewLogger("ice")
	if conn == nil && cfg.ICEAddr.IsValid() && !cfg.ICEAddr.IsUnspecified() {
		laddr := netip.AddrPortFrom(cfg.ICEAddr, uint16(cfg.ICEPort))
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		if err != nil {
			return nil, netip.AddrPort{}, fmt.Errorf("listen ice udp %s: %w", laddr, err)
		}
		conn = c
	}
	if conn != nil {
		addr := localAddrPortOf(conn)
		return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: logger}), addr, nil
	}
	mux, err := ice.NewMultiUDPMuxFromPort(cfg.ICEPort,
		ice.UDPMuxFromPortWithLogger(logger),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6))
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("listen ice udp port %d: %w", cfg.ICEPort, err)
	}
	port := uint16(cfg.ICEPort)
	for _, a := range mux.GetListenAddresses() {
		if ua, ok := a.(*net.UDPAddr); ok {
			port = uint16(ua.Port)
			break
		}
	}
	return mux, netip.AddrPortFrom(netip.IPv6Unspecified(), port), nil
}

// localAddrPortOf returns the bound address of a UDP socket.
func localAddrPortOf(conn net.PacketConn) netip.AddrPort {
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// pionLoggerFactory routes the WebRTC stack's logs into slog with the
// scope as an attribute. Pion's info level is chatty per connection, so it
// becomes debug; trace is dropped.
type pionLoggerFactory struct{ log *slog.Logger }

// NewLogger returns the logger of one pion scope.
func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

// pionLogger adapts slog to pion's LeveledLogger.
type pionLogger struct{ log *slog.Logger }

var _ logging.LeveledLogger = pionLogger{}

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

// Trace drops the message.
func (pionLogger) Trace(string) {}

// Tracef drops the message.
func (pionLogger) Tracef(string, ...any) {}

// Debug logs at debug level.
func (l pionLogger) Debug(msg string) { l.log.Debug(msg) }

// Debugf logs at debug level.
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }

// Info logs at debug level.
func (l pionLogger) Info(msg string) { l.log.Debug(msg) }

// Infof logs at debug level.
func (l pionLogger) Infof(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }

// Warn logs at warn level.
func (l pionLogger) Warn(msg string) { l.log.Warn(msg) }

// Warnf logs at warn level.
func (l pionLogger) Warnf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }

// Error logs at error level.
func (l pionLogger) Error(msg string) { l.log.Error(msg) }

// Errorf logs at error level.
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
