package record

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatementAndTitle(t *testing.T) {
	tests := []struct {
		source, label, statement, title, name string
	}{
		{"%timeit work(n)", "", "work(n)", "%timeit work(n)", "Timeit/work(n)"},
		{"%timeit -r 10 work(n)", "", "work(n)", "%timeit work(n)", "Timeit/work(n)"},
		{"%timeit -c -n 1000 -r 3 grind(side)", "", "grind(side)", "%timeit grind(side)", "Timeit/grind(side)"},
		{"%timeit -n1000 s = f(x,  y)", "", "s = f(x,  y)", "%timeit s = f(x, y)", "Timeit/s_=_f(x,_y)"},
		{"%timeit -x", "", "-x", "%timeit -x", "Timeit/-x"},
		{"%memit -r 3 grow(1 << 20)", "", "grow(1 << 20)", "%memit grow(1 << 20)", "Memit/grow(1_<<_20)"},
		{"%%timeit\nlookup: m[k]\nscan: find(xs, k)", "lookup", "lookup: m[k]; scan: find(xs, k)", "%%timeit lookup", "Timeit/lookup"},
		{"%%timeit -r 3 xs := make([]int, 9)\n// sum\ns := 0\n\nfor _, x := range xs { s += x }", "", "s := 0; for _, x := range xs { s += x }",
			"%%timeit s := 0; for _, x := range xs { s += x }", "Timeit/s_:=_0;_for__,_x_:=_range_xs_{_s_+=_x_}"},
		{"%time " + strings.Repeat("f(", 40) + strings.Repeat(")", 40), "", strings.Repeat("f(", 40) + strings.Repeat(")", 40),
			"%time " + strings.Repeat("f(", 29) + "f…", "Time/" + strings.Repeat("f(", 29) + "f…"},
		{"%scalene", "", "", "%scalene", "Scalene"},
		{"%time f(\"\x01\")", "", "f(\"\x01\")", "%time f(\"\x01\")", `Time/f("\x01")`},
	}
	for _, tt := range tests {
		rec := Record{Magic: strings.Fields(strings.TrimLeft(tt.source, "%"))[0], Source: tt.source}
		res := Result{Label: tt.label}
		if got := rec.Statement(); got != tt.statement {
			t.Errorf("%q: statement %q, want %q", tt.source, got, tt.statement)
		}
		if got := rec.Title(res); got != tt.title {
			t.Errorf("%q: title %q, want %q", tt.source, got, tt.title)
		}
		if got := rec.Name(res); got != tt.name {
			t.Errorf("%q: name %q, want %q", tt.source, got, tt.name)
		}
	}
}

func TestNameResultsRepeated(t *testing.T) {
	a := Record{Magic: "timeit", Source: "%timeit f()", Results: []Result{{}}}
	b := Record{Magic: "timeit", Source: "%timeit -c f()", Results: []Result{{}}}
	c := Record{Magic: "timeit", Source: "%%timeit\nx: f()\ny: g()", Results: []Result{{Label: "x"}, {Label: "y"}}}
	got := NameResults([]Record{a, b, c, a})
	want := [][]ResultName{
		{{"%timeit f()", "Timeit/f()"}},
		{{"%timeit f()#01", "Timeit/f()#01"}},
		{{"%%timeit x", "Timeit/x"}, {"%%timeit y", "Timeit/y"}},
		{{"%timeit f()#02", "Timeit/f()#02"}},
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("result %d.%d named %+v, want %+v", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// benchRecords are records of the three kinds of figures: times with
// allocations, CPU times, and memory without a time.
func benchRecords() []Record {
	env := Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", CPU: "Test CPU @ 2.00GHz", GOMAXPROCS: 2, NumCPU: 2,
		Build: map[string]string{"GOAMD64": "v1"}}
	timeit := Result{Iterations: 2000000}
	timeit.Add("sec/op", 21.25e-9, 1234.5e-9)
	timeit.Add("B/op", 0, 16)
	timeit.Add("allocs/op", 0, 1)
	cpu := Result{Iterations: 100}
	cpu.Add("cpu-sec/op", 0.00012)
	memit := Result{Iterations: 1}
	memit.Add("peak-RSS-B", 5046272)
	memit.Add("allocs/op", 14.5)
	return []Record{
		{Magic: "timeit", Source: "%timeit lookup(m, k)", Results: []Result{timeit}, Environment: env},
		{Magic: "timeit", Source: "%timeit -c grind(side)", Results: []Result{cpu}, Environment: env},
		{Magic: "memit", Source: "%memit nop()", Results: []Result{memit}, Environment: env},
	}
}

// TestWriteBenchAsGoTest checks the text character by character against
// the layout of go test -bench: the name padded to the longest and a tab,
// the iterations in eight places, ns/op, then other units, B/op and
// allocs/op, numbers as the testing package prints them.
func TestWriteBenchAsGoTest(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBench(&buf, benchRecords(), map[string]string{"notebook": "old.ipynb"}); err != nil {
		t.Fatal(err)
	}
	want := "goos: linux\ngoarch: amd64\ncpu: Test CPU @ 2.00GHz\ngo: go1.26.8\ngoamd64: v1\nnotebook: old.ipynb\n" +
		"BenchmarkTimeit/lookup(m,_k)-2\t 2000000\t        21.25 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkTimeit/lookup(m,_k)-2\t 2000000\t      1234 ns/op\t      16 B/op\t       1 allocs/op\n" +
		"BenchmarkTimeit/grind(side)-2 \t     100\t         0.0001200 cpu-sec/op\n" +
		"BenchmarkMemit/nop()-2        \t       1\t   5046272 peak-RSS-B\t        14.50 allocs/op\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestBenchstatReadsWriteBench runs the real benchstat (from the module
// cache, as go.mod requires golang.org/x/perf) on two files of benchmark
// text.
func TestBenchstatReadsWriteBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds benchstat")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	recs := benchRecords()
	var files []string
	for i, scale := range []float64{1, 2} {
		r := recs[0]
		res := r.Results[0]
		var m []Metric
		for _, x := range res.Metrics {
			vals := append([]float64(nil), x.Values...)
			if x.Unit == "sec/op" {
				vals = []float64{}
				for k := range 6 {
					vals = append(vals, scale*(100+float64(k))*1e-9)
				}
			}
			m = append(m, Metric{Unit: x.Unit, Values: vals})
		}
		res.Metrics = m
		r.Results = []Result{res}
		var buf bytes.Buffer
		if err := WriteBench(&buf, []Record{r}, nil); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, []string{"old.txt", "new.txt"}[i])
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	cmd := exec.Command("go", append([]string{"run", "golang.org/x/perf/cmd/benchstat"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("benchstat: %v\n%s", err, out)
	}
	t.Logf("benchstat:\n%s", out)
	for _, want := range []string{"Timeit/lookup(m,_k)-2", "+100.00%", "sec/op", "B/op"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("benchstat's table lacks %q:\n%s", want, out)
		}
	}
}
