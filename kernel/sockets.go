package kernel

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/perfnb/perfnb/kernel/zmtp"
)

// sockets are the five kernel sockets, from package zmtp: shell, control,
// stdin and the heartbeat are Routers, iopub a Pub. They deliver and send
// in the goroutines that use them, and refuse what peers cannot be
// allowed to make the kernel hold (see zmtp.Limits).
//
// The heartbeat echoes every message back to its sender from the reader
// goroutine of the connection, as ipykernel's heartbeat device does: it
// answers REQ and DEALER clients alike, whatever the envelope, while a
// cell runs.
type sockets struct {
	shell, control, stdin, hb *zmtp.Router
	iopub                     *zmtp.Pub
}

// handlers receive the messages of the three ROUTER sockets, identity
// frame first, with the connection they came from, in the reader
// goroutine of each connection.
type handlers struct {
	shell, control, stdin func(from *zmtp.Peer, frames [][]byte)
}

// bindSockets creates and binds the sockets that ci names. Ports that are 0
// (tcp only) are chosen by the system and written back into ci.
func bindSockets(ci *connectionInfo, h handlers, lim zmtp.Limits, logger *slog.Logger) (*sockets, error) {
	named := func(channel string) *slog.Logger { return logger.With("channel", channel) }
	s := &sockets{
		shell:   zmtp.NewRouter(named("shell"), lim),
		control: zmtp.NewRouter(named("control"), lim),
		stdin:   zmtp.NewRouter(named("stdin"), lim),
		hb:      zmtp.NewRouter(named("heartbeat"), lim),
		iopub:   zmtp.NewPub(named("iopub"), lim),
	}
	echo := func(from *zmtp.Peer, frames [][]byte) {
		if err := s.hb.Reply(from, frames); err != nil {
			logger.Debug("heartbeat: cannot echo", "err", err)
		}
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
		{"heartbeat", func(ep string) error { return s.hb.Listen(ep, echo) }, s.hb.Addr, &ci.HBPort},
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
