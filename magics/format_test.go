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

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{0, "0"},
		{16, "16"},
		{40.5, "40.5"},
		{9999, "9,999"},
		{10000, "9.77 KiB"},
		{10240, "10.0 KiB"},
		{123456, "121 KiB"},
		{1023 * 1024, "0.999 MiB"}, // three digits, not 1,023 KiB
		{1000 * 1024, "0.977 MiB"},
		{99.96 * 1024, "100 KiB"},
		{9.996 * 1024, "10.0 KiB"},
		{5.13e6, "4.89 MiB"},
		{1 << 30, "1.00 GiB"},
		{10.2 * (1 << 30), "10.2 GiB"},
		{1 << 40, "1.00 TiB"},
		{1.0235e4 * (1 << 40), "10,235 TiB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.x); got != tt.want {
			t.Errorf("FormatBytes(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}
