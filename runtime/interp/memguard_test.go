package interp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

func TestMemoryGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MiB")
	}
	i, err := New(Options{MemoryLimit: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	eval := func(n int, kind cell.Kind, src string) error {
		_, _, err := i.Eval(context.Background(), cell.Item{Kind: kind, Source: src, Line: 1}, n, newPub())
		return err
	}
	if err := eval(1, cell.Statement, "kept := 42"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = eval(2, cell.Statement, "var hog [][]byte\nfor {\n\thog = append(hog, make([]byte, 1<<20))\n}")
	var ke *protocol.Error
	if !errors.As(err, &ke) || ke.Name != "MemoryLimitExceeded" || !strings.Contains(ke.Value, "256 MiB") {
		t.Fatalf("err = %v, want MemoryLimitExceeded naming the 256 MiB limit", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stopped after %v", d)
	}
	// The kernel goes on: the hog can be released, and earlier state is kept.
	if err := eval(3, cell.Statement, "hog = nil"); err != nil {
		t.Errorf("releasing the memory: %v", err)
	}
	v, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Expression, Source: "kept", Line: 1}, 4, newPub())
	if err != nil || v.Int() != 42 {
		t.Errorf("kept = %v, %v; want 42", v, err)
	}
}

func TestMemoryLimitFromEnvironment(t *testing.T) {
	t.Setenv(sysmem.KernelLimitEnv, "off")
	if g, err := newMemGuard(0); g != nil || err != nil {
		t.Errorf("off: guard %v, err %v; want none", g, err)
	}
	t.Setenv(sysmem.KernelLimitEnv, "3GiB")
	if g, err := newMemGuard(0); err != nil || g == nil || g.limit != 3<<30 {
		t.Errorf("3GiB: guard %+v, err %v", g, err)
	}
	t.Setenv(sysmem.KernelLimitEnv, "lots")
	if _, err := newMemGuard(0); err == nil || !strings.Contains(err.Error(), sysmem.KernelLimitEnv) {
		t.Errorf("lots: err %v, want one naming %s", err, sysmem.KernelLimitEnv)
	}
	t.Setenv(sysmem.KernelLimitEnv, "")
	if g, err := newMemGuard(0); err != nil || g == nil || g.limit < 1<<20 {
		t.Errorf("default: guard %+v, err %v", g, err)
	}
}

// TestMemoryGuardOneNativeCall checks a cell whose one call into compiled
// code goes past the limit and returns before the interpreter could stop
// it: the cell still fails with the memory error.
func TestMemoryGuardOneNativeCall(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MiB")
	}
	i, err := New(Options{MemoryLimit: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	_, _, err = i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: `b := bytes.Repeat([]byte{1}, 512<<20)`, Line: 1}, 1, newPub())
	var ke *protocol.Error
	if !errors.As(err, &ke) || ke.Name != "MemoryLimitExceeded" {
		t.Fatalf("err = %v, want MemoryLimitExceeded", err)
	}
}
