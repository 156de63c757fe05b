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
// Shell, control and stdin are routerSockets and iopub a pubSocket: they
// deliver and send in the goroutines that use them, without zmq4's queues
// (see routerSocket and pubSocket). The heartbeat is a zmq4 ROUTER that
// echoes every message back to its sender, as ipykernel's heartbeat device
// does: it answers REQ and DEALER clients alike and, unlike zmq4's REP,
// copes with any envelope.
type sockets struct {
	shell, control, stdin *routerSocket
	iopub                 *pubSocket
	hb                    zmq4.Socket
}

// handlers receive the messages of the three ROUTER sockets, identity
// frame first, in the reader goroutine of each connection.
type handlers struct {
	shell, control, stdin func(frames [][]byte)
}

// bindSockets creates and binds the sockets that ci names. Ports that are 0
// (tcp only) are chosen by the system and written back into ci.
func bindSockets(ci *connectionInfo, h handlers, logger *slog.Logger) (*sockets, error) {
	opt := zmq4.WithLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	s := &sockets{
		shell:   newRouterSocket(logger),
		control: newRouterSocket(logger),
		stdin:   newRouterSocket(logger),
		iopub:   newPubSocket(logger),
		hb:      zmq4.NewRouter(context.Background(), opt),
	}
	for _, b := range []struct {
		name   string
		listen func(ep string) error
		addr   func() net.Addr
		port   *int
	}{
		{"shell", func(ep string) error { return s.shell.Listen(ep, h.shell) }, s.shell.Addr, &ci.ShellPort},
		{"control", func(ep string) error { return s.control.Listen(ep, h.control) }, s.control.Addr, &ci.ControlPort},
		{"stdin", func(ep string) error { return s.stdin.Listen(ep, h.stdin) }, s.stdin.Addr, &ci.StdinPort},
		{"iopub", s.iopub.Listen, s.iopub.Addr, &ci.IOPubPort},
		{"heartbeat", func(ep string) error { return s.hb.Listen(fastEndpoint(ep)) }, s.hb.Addr, &ci.HBPort},
	} {
		ep := ci.endpoint(*b.port)
		if err := b.listen(ep); err != nil {
			s.close()
			return nil, fmt.Errorf("cannot bind the %s socket on %s: %w", b.name, ep, err)
		}
		if *b.port == 0 {
			if a, ok := b.addr().(*net.TCPAddr); ok {
				*b.port = a.Port
			}
		}
	}
	return s, nil
}

// close closes every socket (ipc socket files are removed).
func (s *sockets) close() {
	_ = s.shell.Close()
	_ = s.control.Close()
	_ = s.stdin.Close()
	_ = s.iopub.Close()
	_ = s.hb.Close()
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
