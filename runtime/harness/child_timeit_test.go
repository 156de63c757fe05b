package harness

import "testing"

func TestAutoLoops(t *testing.T) {
	tests := []struct {
		sec  float64
		want int
	}{
		{100e-9, 2_000_000},
		{99e-9, 2_500_000},
		{1e-9, 200_000_000},
		{0.3e-9, 800_000_000},
		{10e-3, 20},
		{9e-3, 25},
		{0.05, 4},
		{0.15, 2},
		{0.09, 3},
		{1, 1},
		{0, 10_000_000_000},
	}
	for _, tt := range tests {
		if got := AutoLoops(tt.sec, 0.2); got != tt.want {
			t.Errorf("AutoLoops(%g, 0.2) = %d, want %d", tt.sec, got, tt.want)
		}
	}
}
