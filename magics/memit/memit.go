// Package memit implements the %memit and %%memit magics.
package memit

import (
	"context"
	"errors"

	"github.com/perfnb/perfnb/magics"
)

// Magic is the memit magic.
type Magic struct{}

// New returns the memit magic.
func New() *Magic { return &Magic{} }

// Name returns "memit".
func (*Magic) Name() string { return "memit" }

// Doc describes the magic in one line.
func (*Magic) Doc() string { return "" }

// Run runs the magic.
func (*Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	return nil, errors.New("memit: not implemented")
}
