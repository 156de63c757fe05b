package magics

import (
	"math"
	"testing"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1000: "-1,000", -999: "-999"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{2e4, "20,000"},
		{2000, "2,000"},
		{1999.98, "2,000"},
		{0.5, "0.5"},
		{12.25, "12.2"},
		{1234.6, "1,235"},
		{math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := FormatCount(tt.x); got != tt.want {
			t.Errorf("FormatCount(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}
