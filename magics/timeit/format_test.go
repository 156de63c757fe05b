package timeit

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/runtime/cell"
)

func TestResultLine(t *testing.T) {
	tests := []struct {
		r    Result
		want string
	}{
		{Result{Average: 29.9e-9, Stdev: 0.643e-9, Repeat: 7, Loops: 10000000, Precision: 3},
			"29.9 ns ± 0.643 ns per loop (mean ± std. dev. of 7 runs, 10,000,000 loops each)"},
		{Result{Average: 1.2, Stdev: 0, Repeat: 1, Loops: 1, Precision: 3},
			"1.2 s ± 0 ns per loop (mean ± std. dev. of 1 run, 1 loop each)"},
		{Result{Average: 2.5e-3, Stdev: 1.25e-5, Repeat: 3, Loops: 100, Precision: 2},
			"2.5 ms ± 12 \u00b5s per loop (mean ± std. dev. of 3 runs, 100 loops each)"},
		{Result{Average: 4e-7, Stdev: 1e-8, Repeat: 10, Loops: 1000, Precision: 3},
			"400 ns ± 10 ns per loop (mean ± std. dev. of 10 runs, 1,000 loops each)"},
	}
	for _, tt := range tests {
		if got := tt.r.Line(); got != tt.want {
			t.Errorf("Line() = %q, want %q", got, tt.want)
		}
	}
	r := Result{Average: 29.9e-9, Stdev: 0.643e-9, Repeat: 7, Loops: 10000000, Precision: 3}
	if got, want := r.String(), "<TimeitResult : 29.9 ns ± 0.643 ns per loop (mean ± std. dev. of 7 runs, 10,000,000 loops each)>"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFormatRatio(t *testing.T) {
	for x, want := range map[float64]string{1: "×1.00", 3.204: "×3.20", 12.34: "×12.3", 439170.4: "×439,170", math.Inf(1): "×?"} {
		if got := formatRatio(x); got != want {
			t.Errorf("formatRatio(%g) = %q, want %q", x, got, want)
		}
	}
}

func TestWarning(t *testing.T) {
	tests := []struct {
		best, worst float64
		want        string
	}{
		{1e-6, 5.23e-6, "The slowest run took 5.23 times longer than the fastest. This could mean that an intermediate result is being cached."},
		{1e-6, 4e-6, ""}, // not more than 4 times
		{1e-8, 9e-7, ""}, // slowest under 1 \u00b5s
		{0, 1, ""},       // best is zero
		{2e-3, 8.1e-3, "The slowest run took 4.05 times longer than the fastest. This could mean that an intermediate result is being cached."},
	}
	for _, tt := range tests {
		r := Result{Best: tt.best, Worst: tt.worst}
		if got := r.Warning(); got != tt.want {
			t.Errorf("Warning(best %g, worst %g) = %q, want %q", tt.best, tt.worst, got, tt.want)
		}
	}
}

func TestSummarise(t *testing.T) {
	ms := []measurement{{secPerOp: 1e-6, bytesPerOp: 16, allocsPerOp: 1}, {secPerOp: 2e-6, bytesPerOp: 16, allocsPerOp: 1},
		{secPerOp: 3e-6, bytesPerOp: 16, allocsPerOp: 1}, {secPerOp: 4e-6, bytesPerOp: 16, allocsPerOp: 1}}
	r := summarise("", ms, 1000, 3, 0.4)
	if math.Abs(r.Average-2.5e-6) > 1e-15 || r.Best != 1e-6 || r.Worst != 4e-6 || r.Repeat != 4 || r.Loops != 1000 {
		t.Errorf("summary %+v", r)
	}
	// The population standard deviation, as IPython computes it.
	if want := math.Sqrt(1.25) * 1e-6; math.Abs(r.Stdev-want) > 1e-15 {
		t.Errorf("Stdev = %g, want %g", r.Stdev, want)
	}
	if math.Abs(r.AllRuns[1]-2e-3) > 1e-15 || r.BytesPerOp != 16 || r.AllocsPerOp != 1 || r.CompileTime != 0.4 {
		t.Errorf("summary %+v", r)
	}
	if !(r.MedianLo <= r.Median && r.Median <= r.MedianHi) || r.Median < 2e-6 || r.Median > 3e-6 {
		t.Errorf("median %g [%g, %g]", r.Median, r.MedianLo, r.MedianHi)
	}
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		name    string
		call    magics.Call
		check   func(*config) string
		wantErr string
	}{
		{
			name: "line mode with options",
			call: magicstest.Call(t, 4, "x := 1\n  %timeit  -n100 -r 5 -p4 -qo -v res x := 3*7"),
			check: func(c *config) string {
				if c.loops != 100 || c.repeat != 5 || c.precision != 4 || !c.quiet || !c.ret || c.varName != "res" {
					return "options wrong"
				}
				b := c.variants[0].body
				if b.Source != "x := 3*7" || b.Cell != 4 || b.Line != 2 || b.Col != len("  %timeit  -n100 -r 5 -p4 -qo -v res ")+1 {
					return "statement snippet wrong"
				}
				return ""
			},
		},
		{
			name: "defaults",
			call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "x*y"}},
			check: func(c *config) string {
				if c.loops != 0 || c.repeat != 7 || c.precision != 3 || c.quiet || c.ret {
					return "defaults wrong"
				}
				return ""
			},
		},
		{
			name: "a negative number is a statement",
			call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-1 * x"}},
			check: func(c *config) string {
				if c.variants[0].body.Source != "-1 * x" {
					return "statement lost"
				}
				return ""
			},
		},
		{
			name: "cell mode: the rest of the line is setup",
			call: magicstest.Call(t, 2, "%%timeit -n 10 s := make([]int, 100)\nsum := 0\nfor _, v := range s {\n\tsum += v\n}"),
			check: func(c *config) string {
				if c.setup.Source != "s := make([]int, 100)" || c.setup.Line != 1 || c.setup.Col != len("%%timeit -n 10 ")+1 {
					return "setup wrong"
				}
				if len(c.variants) != 1 || c.variants[0].body.Line != 2 || !strings.HasPrefix(c.variants[0].body.Source, "sum := 0") {
					return "body wrong"
				}
				return ""
			},
		},
		{name: "empty statement", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "  "}}, check: func(c *config) string {
			if c != nil {
				return "want nothing to time"
			}
			return ""
		}},
		{name: "-t and -c are accepted", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-t -c x"}}, check: func(c *config) string {
			if !c.cpu || c.variants[0].body.Source != "x" {
				return "-t -c not parsed"
			}
			return ""
		}},
		{name: "bad loop count", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-n ten x"}}, wantErr: "UsageError"},
		{name: "zero runs", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-r 0 x"}}, wantErr: "UsageError: option -r needs a whole number of at least 1, not 0"},
		{name: "unknown option", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-z x"}}, wantErr: "UsageError"},
		{name: "bad variable name", call: magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-v 9x x"}}, wantErr: "UsageError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParseCall(t, tt.call, tt.check, tt.wantErr) })
	}
}

// checkParseCall parses call and checks the error against wantErr, when it
// is set, or else the config with check, which returns what is wrong or "".
func checkParseCall(t *testing.T, call magics.Call, check func(*config) string, wantErr string) {
	c, err := parseCall(call)
	if wantErr != "" {
		var ke *protocol.Error
		if !errors.As(err, &ke) || !strings.Contains(ke.Error(), wantErr) {
			t.Fatalf("got %v, want %s", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if msg := check(c); msg != "" {
		t.Errorf("%s: %+v", msg, c)
	}
}

func TestParseVariants(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		labels []string
		srcs   []string
		lines  []int
		cols   []int
	}{
		{
			name:   "one line each",
			body:   "concat: s := concatWords(words)\nbuilder: s := buildWords(words)",
			labels: []string{"concat", "builder"},
			srcs:   []string{"s := concatWords(words)", "s := buildWords(words)"},
			lines:  []int{5, 6},
			cols:   []int{9, 10},
		},
		{
			name:   "continuation lines and comments",
			body:   "// compare\n\nloop:   n := 0\n  for i := range 10 {\n    n += i\n  }\nformula: n := 45\n",
			labels: []string{"loop", "formula"},
			srcs:   []string{"n := 0\n  for i := range 10 {\n    n += i\n  }", "n := 45"},
			lines:  []int{7, 11},
			cols:   []int{9, 10},
		},
		{name: "plain body", body: "x := 1\ny := x + 2"},
		{
			name:   "one label that no jump names is a variant",
			body:   "sort: slices.Sort(xs)\n_ = xs",
			labels: []string{"sort"},
			srcs:   []string{"slices.Sort(xs)\n_ = xs"},
			lines:  []int{5},
			cols:   []int{7},
		},
		{name: "one label a jump names is Go's", body: "again: x++\nif x < 3 {\n\tgoto again\n}"},
		{
			name:   "a loop's label that no jump names is a variant",
			body:   "sorting: for range 100 {\n\tslices.Sort(xs)\n}\nsearching: slices.BinarySearch(xs, 3)",
			labels: []string{"sorting", "searching"},
			srcs:   []string{"for range 100 {\n\tslices.Sort(xs)\n}", "slices.BinarySearch(xs, 3)"},
			lines:  []int{5, 8},
			cols:   []int{10, 12},
		},
		{name: "Go labels are not variants", body: "outer: for i := range 3 {\n\tbreak outer\n}\ninner:\nfor {\n\tbreak inner\n}"},
		{name: "code before the first label", body: "x := 1\na: y := x\nb: z := x"},
		{name: "a map literal key is not a label", body: "m := map[string]int{\n\"a\": 1,\n}"},
		{name: "short variable declaration", body: "a := 1\nb := 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, err := parseVariants(tt.body, 3, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tt.labels) {
				t.Fatalf("got %d variants %+v, want %d", len(vs), vs, len(tt.labels))
			}
			for i, v := range vs {
				if v.label != tt.labels[i] || v.body.Source != tt.srcs[i] || v.body.Line != tt.lines[i] || v.body.Col != tt.cols[i] || v.body.Cell != 3 {
					t.Errorf("variant %d = %+v, want %s %q at line %d col %d", i, v, tt.labels[i], tt.srcs[i], tt.lines[i], tt.cols[i])
				}
			}
		})
	}
	if _, err := parseVariants("a: x := 1\na: x := 2", 1, 1); err == nil {
		t.Error("a label used twice is accepted")
	}
}

func TestHTMLMemoryCells(t *testing.T) {
	tests := []struct {
		name          string
		bytes, allocs float64
		want          []string
	}{
		{"large averages", 5.13e6, 2e4, []string{
			`title="5,130,000 B/op">4.89 MiB</td>`, `title="20,000 allocs/op">20,000</td>`}},
		{"thousands", 2000, 2000, []string{
			`title="2,000 B/op">2,000 B</td>`, `title="2,000 allocs/op">2,000</td>`}},
		{"just below KiB", 9999, 1, []string{`title="9,999 B/op">9,999 B</td>`, `title="1 allocs/op">1</td>`}},
		{"KiB", 123456, 0, []string{`title="123,456 B/op">121 KiB</td>`, `title="0 allocs/op">0</td>`}},
		{"GiB", 1.5 * (1 << 30), 3, []string{`title="1,610,612,736 B/op">1.50 GiB</td>`}},
		{"fractional average", 40.5, 0.5, []string{`title="40.5 B/op">40.5 B</td>`, `title="0.5 allocs/op">0.5</td>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Average: 1e-6, Stdev: 1e-8, Median: 1e-6, MedianLo: 1e-6, MedianHi: 1e-6, Best: 1e-6, Worst: 1e-6,
				Repeat: 7, Loops: 1000, Precision: 3, BytesPerOp: tt.bytes, AllocsPerOp: tt.allocs}
			fast := *r
			fast.Label = "fast"
			slow := fast
			slow.Label, slow.Average = "slow", 2e-6
			for what, html := range map[string]string{"result": r.HTML(), "comparison": (&Comparison{Variants: []*Result{&fast, &slow}}).HTML()} {
				html = strings.ReplaceAll(html, "\u00a0", " ") // the no-break spaces in figures
				for _, w := range tt.want {
					if !strings.Contains(html, w) {
						t.Errorf("%s HTML lacks %s:\n%s", what, w, html)
					}
				}
				if strings.Contains(html, "e+") {
					t.Errorf("%s HTML has an exponent:\n%s", what, html)
				}
			}
		})
	}
}

func TestExact(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{0, "0"},
		{40.5, "40.5"},
		{5130000, "5,130,000"},
		{20001.571428571428, "20,001.571428571428"}, // no digits the float64 does not have
		{285432.7142857143, "285,432.7142857143"},
		{-0.25, "-0.25"},
		{-1234.5, "-1,234.5"},
		{math.Inf(1), "+Inf"},
	}
	for _, tt := range tests {
		if got := exact(tt.x); got != tt.want {
			t.Errorf("exact(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}
