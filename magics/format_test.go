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

func TestFormatTime(t *testing.T) {
	tests := []struct {
		seconds   float64
		precision int
		want      string
	}{
		{8.26e-9, 3, "8.26 ns"},
		{0.5, 3, "500 ms"},
		{65.4, 3, "1min 5s"},
		{9.999e-4, 3, "1e+03 \u00b5s"},
		{3725, 3, "1h 2min 5s"},
		{3605, 3, "1h 5s"},
		{3600, 3, "1h"},
		{60.5, 3, "1min"},
		{90061, 3, "1d 1h 1min 1s"},
		{0, 3, "0 ns"},
		{1.5, 3, "1.5 s"},
		{59.99, 3, "60 s"},
		{2.5e-5, 3, "25 \u00b5s"},
		{1e-12, 3, "0.001 ns"},
		{0.643e-9, 3, "0.643 ns"},
		{1.23456e-3, 5, "1.2346 ms"},
		{1.23456e-3, 1, "1 ms"},
		{123456e-9, 3, "123 \u00b5s"},
		{math.Inf(1), 3, "+Inf s"},
	}
	for _, tt := range tests {
		if got := FormatTime(tt.seconds, tt.precision); got != tt.want {
			t.Errorf("FormatTime(%g, %d) = %q, want %q", tt.seconds, tt.precision, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct{ n, word, want string }{
		{"1", "object", "1 object"},
		{"0", "object", "0 objects"},
		{"2,000", "loop", "2,000 loops"},
		{"0.5", "object", "0.5 objects"},
		{"11", "run", "11 runs"},
	}
	for _, tt := range tests {
		if got := Plural(tt.n, tt.word); got != tt.want {
			t.Errorf("Plural(%q, %q) = %q, want %q", tt.n, tt.word, got, tt.want)
		}
	}
}
