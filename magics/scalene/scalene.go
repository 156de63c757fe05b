// Package scalene implements the %scalene and %%scalene magics.
package scalene

import (
	"context"
	"errors"

	"github.com/perfnb/perfnb/magics"
)

// Magic is the scalene magic.
type Magic struct{}

// New returns the scalene magic.
func New() *Magic { return &Magic{} }

// Name returns "scalene".
func (*Magic) Name() string { return "scalene" }

// Doc describes the magic in one line.
func (*Magic) Doc() string { return "" }

// Run runs the magic.
func (*Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	return nil, errors.New("scalene: not implemented")
}
