package harness

import (
	"testing"
	"time"
)

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

// TestCalibrate checks the loop counts calibrate chooses for bodies of
// given costs, with a fake clock.
func TestCalibrate(t *testing.T) {
	tests := []struct {
		name  string
		first time.Duration // the first loop's time (one-time work)
		loop  time.Duration // every other loop's time
		want  int
	}{
		{"1 ns", time.Nanosecond, time.Nanosecond, 200_000_000},
		{"1 ms", time.Millisecond, time.Millisecond, 200},
		{"9 ms", 9 * time.Millisecond, 9 * time.Millisecond, 25},
		{"slow first loop, fast body", 300 * time.Millisecond, 20 * time.Microsecond, 10_000},
		{"slow body", 300 * time.Millisecond, 300 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := 0
			run := func(n int) (time.Duration, bool) {
				runs++
				if runs == 1 {
					return tt.first + time.Duration(n-1)*tt.loop, true
				}
				return time.Duration(n) * tt.loop, true
			}
			if got, ok := calibrate(run, 0.2); !ok || got != tt.want {
				t.Errorf("calibrate = %d, %v; want %d", got, ok, tt.want)
			}
		})
	}
}
