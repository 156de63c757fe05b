package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/go-zeromq/zmq4"
)

// sockets are the five kernel sockets.
//
// The heartbeat is a ROUTER that echoes every message back to its sender,
// as ipykernel's heartbeat device does: it answers REQ and DEALER clients
// alike and, unlike zmq4's REP, copes with any envelope.
type sockets struct {
	shell, control, stdin, iopub, hb zmq4.Socket
}

// bindSockets creates and binds the sockets that ci names. Ports that are 0
// (tcp only) are chosen by the system and written back into ci.
func bindSockets(ci *connectionInfo, logger *slog.Logger) (*sockets, error) {
	ctx := context.Background()
	opt := zmq4.WithLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	s := &sockets{
		shell:   zmq4.NewRouter(ctx, opt),
		control: zmq4.NewRouter(ctx, opt),
		stdin:   zmq4.NewRouter(ctx, opt),
		iopub:   zmq4.NewPub(ctx, opt),
		hb:      zmq4.NewRouter(ctx, opt),
	}
	for _, b := range []struct {
		name string
		sock zmq4.Socket
		port *int
	}{
		{"shell", s.shell, &ci.ShellPort},
		{"control", s.control, &ci.ControlPort},
		{"stdin", s.stdin, &ci.StdinPort},
		{"iopub", s.iopub, &ci.IOPubPort},
		{"heartbeat", s.hb, &ci.HBPort},
	} {
		ep := ci.endpoint(*b.port)
		if err := b.sock.Listen(fastEndpoint(ep)); err != nil {
			s.close()
			return nil, fmt.Errorf("cannot bind the %s socket on %s: %w", b.name, ep, err)
		}
		if *b.port == 0 {
			if a, ok := b.sock.Addr().(*net.TCPAddr); ok {
				*b.port = a.Port
			}
		}
	}
	return s, nil
}

// close closes every socket (ipc socket files are removed by zmq4).
func (s *sockets) close() {
	for _, sock := range []zmq4.Socket{s.shell, s.control, s.stdin, s.iopub, s.hb} {
		if sock != nil {
			_ = sock.Close()
		}
	}
}

// writeConnectionFile rewrites path with the ports actually bound, for a
// connection file that asked for port 0.
func writeConnectionFile(path string, ci *connectionInfo) error {
	data, err := json.MarshalIndent(ci, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the connection file: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("cannot write the chosen ports to the connection file: %w", err)
	}
	return nil
}
