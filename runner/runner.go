// Package runner executes a notebook without Jupyter: every code cell in
// order through a kernel.Interpreter, with progress on the terminal, and
// the outputs written back as nbformat 4.
package runner

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/perfnb/perfnb/kernel"
)

// Options configures one run.
type Options struct {
	Path        string        // the notebook to run
	Output      string        // where to write it; "" writes Path itself
	AllowErrors bool          // go on after a failing cell
	Timeout     time.Duration // per cell; 0 means none
	Progress    io.Writer     // progress lines and cell text output
}

// Run executes the notebook with interp.
func Run(ctx context.Context, interp kernel.Interpreter, opts Options) error {
	return errors.New("runner: not implemented")
}
