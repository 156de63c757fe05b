// Package timeit implements the %timeit and %%timeit magics.
package timeit

import (
	"context"
	"errors"

	"github.com/perfnb/perfnb/magics"
)

// Magic is the timeit magic.
type Magic struct{}

// New returns the timeit magic.
func New() *Magic { return &Magic{} }

// Name returns "timeit".
func (*Magic) Name() string { return "timeit" }

// Doc describes the magic in one line.
func (*Magic) Doc() string { return "" }

// Run runs the magic.
func (*Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	return nil, errors.New("timeit: not implemented")
}
