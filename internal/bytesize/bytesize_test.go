package bytesize

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string // a part of the error; "" for none
	}{
		{in: "1048576", want: 1 << 20},
		{in: "512", want: 512},
		{in: "512B", want: 512},
		{in: "512MiB", want: 512 << 20},
		{in: " 512 mib ", want: 512 << 20},
		{in: "2GiB", want: 2 << 30},
		{in: "2gib", want: 2 << 30},
		{in: "1.5G", want: 3 << 29},
		{in: "8K", want: 8 << 10},
		{in: "1T", want: 1 << 40},
		{in: "1TiB", want: 1 << 40},
		{in: "300MB", want: 300e6},
		{in: "2GB", want: 2e9},
		{in: "1kb", want: 1000},
		{in: "1TB", want: 1e12},
		{in: "", err: "not a size"},
		{in: "off", err: "not a size"},
		{in: "-5MiB", err: "not a size"},
		{in: "0", err: "not a size"},
		{in: "12 parsecs", err: "not a size"},
		{in: "1.2.3G", err: "not a size"},
		{in: "0.1", err: "less than a byte"},
		{in: "9e30", err: "not a size"},
		{in: "99999999999TiB", err: "too large"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Parse(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
