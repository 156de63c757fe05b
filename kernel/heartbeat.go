package kernel

import (
	"log/slog"

	"github.com/go-zeromq/zmq4"
)

// heartbeat echoes every message received on sock back to its sender until
// the socket is closed. It runs in its own goroutine, so it answers while a
// cell runs.
func heartbeat(sock zmq4.Socket, logger *slog.Logger) {
	for {
		msg, err := sock.Recv()
		if err != nil {
			return
		}
		if len(msg.Frames) == 0 {
			continue
		}
		if err := sock.SendMulti(msg); err != nil {
			logger.Warn("heartbeat: cannot echo", "err", err)
		}
	}
}
