package magics

import (
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	spec := OptionSpec{Flags: []string{"q", "o", "cpu-only"}, Values: []string{"n", "r", "v", "duration", "outfile"}}
	tests := []struct {
		args     string
		wantRest string
		check    func(t *testing.T, o Options)
		wantErr  bool
	}{
		{args: "-n100 x*y", wantRest: "x*y", check: func(t *testing.T, o Options) {
			if n, _ := o.Int("n", 0); n != 100 {
				t.Errorf("n = %d, want 100", n)
			}
		}},
		{args: "-n 100 -r 3 f(x, y)", wantRest: "f(x, y)", check: func(t *testing.T, o Options) {
			if r, _ := o.Int("r", 7); r != 3 {
				t.Errorf("r = %d, want 3", r)
			}
		}},
		{args: "-qo -r5 sum(xs)", wantRest: "sum(xs)", check: func(t *testing.T, o Options) {
			if !o.Has("q") || !o.Has("o") {
				t.Errorf("flags q and o not both set")
			}
		}},
		{args: "--cpu-only --duration=2s --outfile 'a b.html' work()", wantRest: "work()", check: func(t *testing.T, o Options) {
			if d, _ := o.Duration("duration", 0); d != 2*time.Second {
				t.Errorf("duration = %v", d)
			}
			if f := o.String("outfile", ""); f != "a b.html" {
				t.Errorf("outfile = %q", f)
			}
		}},
		{args: "-- -x", wantRest: "-x"},
		{args: "-1 + 2", wantRest: "-1 + 2"},
		{args: "x := -n", wantRest: "x := -n"},
		{args: "", wantRest: ""},
		{args: "-z x", wantErr: true},
		{args: "--nope x", wantErr: true},
		{args: "-n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o, rest, err := ParseOptions(tt.args, spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if rest != tt.wantRest {
				t.Errorf("rest = %q, want %q", rest, tt.wantRest)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestOptionsBadNumber(t *testing.T) {
	o, _, err := ParseOptions("-n ten x", OptionSpec{Values: []string{"n"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Int("n", 0); err == nil {
		t.Error("Int accepted a word that is not a number")
	}
}
