package kernel

import (
	"context"
	"errors"
	"log/slog"
)

// Run serves the Jupyter protocol for interp on the sockets that the
// connection file names, until a shutdown_request arrives or ctx is done.
// Log lines (dropped messages, socket errors) go to logger.
func Run(ctx context.Context, connectionFile string, interp Interpreter, logger *slog.Logger) error {
	return errors.New("kernel: not implemented")
}
