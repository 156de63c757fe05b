package popcount

import (
	"math/bits"
	"testing"
)

func TestAgree(t *testing.T) {
	for _, x := range []uint64{0, 1, 0xFF, 1 << 63, ^uint64(0), 0x9E3779B97F4A7C15} {
		if want := bits.OnesCount64(x); Loop(x) != want || Table(x) != want {
			t.Errorf("x=%#x: Loop %d, Table %d, want %d", x, Loop(x), Table(x), want)
		}
	}
}
