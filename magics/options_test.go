package magics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// testOptions are options of every kind, bound to their variables.
type testOptions struct {
	n, r    int
	q, o    bool
	cpuOnly bool
	v       string
	dur     time.Duration
	outfile string
	ratio   float64
	limit   int64
	set     *OptionSet
}

func newTestOptions() *testOptions {
	t := &testOptions{set: NewOptionSet()}
	s := t.set
	s.Int(&t.n, "n", 0, "`N` loops per run").AtLeast(0)
	s.Int(&t.r, "r", 7, "`R` runs").AtLeast(1).AtMost(100)
	s.Flag(&t.q, "q", "quiet")
	s.Flag(&t.o, "o", "return the result")
	s.Flag(&t.cpuOnly, "cpu-only", "CPU only")
	s.String(&t.v, "v", "", "store the result in `NAME`")
	s.Duration(&t.dur, "duration", time.Second, "run for `D`").Positive()
	s.String(&t.outfile, "outfile", "", "save the page as `FILE`")
	s.Float(&t.ratio, "ratio", 1, "a `RATIO`")
	s.Alias(s.Size(&t.limit, "m", 0, "memory `LIMIT`"), "limit")
	return t
}

func TestOptionSetParse(t *testing.T) {
	tests := []struct {
		args     string
		wantRest string
		check    func(o *testOptions) bool
	}{
		{"-n100 x*y", "x*y", func(o *testOptions) bool { return o.n == 100 && o.r == 7 }},
		{"-n 100 -r 3 f(x, y)", "f(x, y)", func(o *testOptions) bool { return o.n == 100 && o.r == 3 }},
		{"-qo -r5 sum(xs)", "sum(xs)", func(o *testOptions) bool { return o.q && o.o && o.r == 5 && o.set.Given("q") }},
		{"--cpu-only --duration=2s --outfile 'a b.html' work()", "work()",
			func(o *testOptions) bool { return o.cpuOnly && o.dur == 2*time.Second && o.outfile == "a b.html" }},
		{"--duration 0.5 x", "x", func(o *testOptions) bool { return o.dur == 500*time.Millisecond }},
		{"-m 2GiB --ratio=2.5 x", "x", func(o *testOptions) bool { return o.limit == 2<<30 && o.ratio == 2.5 }},
		{"--limit 512MiB x", "x", func(o *testOptions) bool { return o.limit == 512<<20 && o.set.Given("m") }},
		{"-- -x", "-x", nil},
		{"-1 + 2", "-1 + 2", nil},
		{"x := -n", "x := -n", nil},
		{"", "", func(o *testOptions) bool {
			return o.n == 0 && o.r == 7 && o.dur == time.Second && !o.q && !o.set.Given("q")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o := newTestOptions()
			// A previous call's values never leak into the next.
			o.n, o.q, o.dur = 99, true, time.Hour
			rest, err := o.set.Parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if rest != tt.wantRest {
				t.Errorf("rest = %q, want %q", rest, tt.wantRest)
			}
			if tt.check != nil && !tt.check(o) {
				t.Errorf("values after %q: %+v", tt.args, *o)
			}
		})
	}
}

func TestOptionSetUsageErrors(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"-z x", "option -z not recognized; the options are [-n N] [-r R] [-q] [-o] [--cpu-only] [-v NAME]"},
		{"--nope x", "option --nope not recognized"},
		{"--q x", "option --q not recognized"},
		{"-n", "option -n needs a value: -n N"},
		{"-n ten x", `option -n needs a whole number, not "ten"`},
		{"-r 0 x", "option -r needs a whole number of at least 1, not 0"},
		{"-r 101 x", "option -r needs a whole number of at most 100, not 101"},
		{"--duration 0 x", "option --duration needs a duration such as 2s or 500ms above 0, not 0s"},
		{"--duration soon x", `option --duration needs a duration such as 2s or 500ms, not "soon"`},
		{"--cpu-only=yes x", "option --cpu-only takes no value"},
		{"-m lots x", `option -m needs a size such as 512MiB or 2GiB, not "lots"`},
	} {
		_, err := newTestOptions().set.Parse(tt.args)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Name != string(protocol.UsageError) || !strings.Contains(pe.Value, tt.want) {
			t.Errorf("%q: %v, want a UsageError containing %q", tt.args, err, tt.want)
		}
	}
}

func TestOptionSetHelp(t *testing.T) {
	o := newTestOptions()
	want := `  -n N                    N loops per run (default 0)
  -r R                    R runs (default 7)
  -q                      quiet
  -o                      return the result
  --cpu-only              CPU only
  -v NAME                 store the result in NAME
  --duration D            run for D (default 1s)
  --outfile FILE          save the page as FILE
  --ratio RATIO           a RATIO (default 1)
  -m LIMIT|--limit LIMIT  memory LIMIT
`
	if got := o.set.Help(); got != want {
		t.Errorf("Help():\n%s\nwant:\n%s", got, want)
	}
	// A synopsis too long for a usage line stays "[options]".
	doc := Doc{Summary: "Time a statement.", Usage: []string{"%t [options] statement", "%%t [options]"}, Options: o.set, More: []string{"How it measures."}}.String()
	summary, usage := summaryAndUsage(doc)
	if summary != "Time a statement." || len(usage) != 2 || usage[0] != "%t [options] statement" {
		t.Errorf("summary %q, usage %q from:\n%s", summary, usage, doc)
	}
	if !strings.Contains(doc, "\nOptions:\n") || !strings.HasSuffix(doc, "\nHow it measures.\n") {
		t.Errorf("doc:\n%s", doc)
	}
	var q bool
	var n int
	short := NewOptionSet()
	short.Flag(&q, "q", "quiet")
	short.Int(&n, "n", 3, "`N` loops")
	_, usage = summaryAndUsage(Doc{Summary: "S", Usage: []string{"%t [options] statement"}, Options: short}.String())
	if len(usage) != 1 || usage[0] != "%t [-q] [-n N] statement" {
		t.Errorf("usage %q, want the synopsis spelled out", usage)
	}
}

func TestOptionSetDeclaredTwice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("declaring -n twice did not panic")
		}
	}()
	var a, b int
	s := NewOptionSet()
	s.Int(&a, "n", 0, "")
	s.Int(&b, "n", 0, "")
}
