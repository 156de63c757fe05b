// Package session implements kernel.Interpreter for Go: it routes each
// cell's items to the yaegi interpreter or to magics, keeps the execution
// history and the declaration store, and turns failures into cell errors.
package session

import (
	"context"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
)

// Options configures a Session.
type Options struct {
	// Magics are the magics cells can call; nil means none.
	Magics *magics.Registry
	// Version is perfnb's version, reported in kernel_info.
	Version string
	// TempDir is where the native workspace is created ("" for the
	// system's temporary directory).
	TempDir string
}

// Session is one kernel's Go state.
type Session struct {
	opts Options
}

// New returns a fresh session.
func New(opts Options) *Session { return &Session{opts: opts} }

var _ kernel.Interpreter = (*Session)(nil)

// Info describes the kernel for kernel_info_reply.
func (s *Session) Info() kernel.Info { return kernel.Info{} }

// Execute runs one cell.
func (s *Session) Execute(ctx context.Context, req kernel.ExecuteRequest, pub kernel.Publisher) kernel.ExecuteResult {
	return kernel.ExecuteResult{Error: &kernel.Error{Name: "NotImplemented"}}
}

// Complete suggests completions at cursor.
func (s *Session) Complete(code string, cursor int) kernel.Completion { return kernel.Completion{} }

// Inspect documents the name at cursor.
func (s *Session) Inspect(code string, cursor, detailLevel int) kernel.Inspection {
	return kernel.Inspection{}
}

// IsComplete says whether code is ready to run.
func (s *Session) IsComplete(code string) kernel.Completeness {
	return kernel.Completeness{Status: "unknown"}
}

// History answers a history request.
func (s *Session) History(q kernel.HistoryQuery) []kernel.HistoryEntry { return nil }

// Shutdown stops child processes and removes temporary files.
func (s *Session) Shutdown(restart bool) error { return nil }
