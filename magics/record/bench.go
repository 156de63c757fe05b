package record

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// WriteBench writes the records' figures as go test -bench prints them,
// one line per run: "BenchmarkTimeit/work(n)-2   100000   1234 ns/op
// 0 B/op   0 allocs/op", each name being the result's Name (made unique
// as NameResults does) with the GOMAXPROCS suffix, times per operation
// in ns/op, other figures in their own units, and the numbers formatted
// as the testing package formats them. The environment goes in
// configuration lines before the results it applies to (goos, goarch,
// cpu, go, and the architecture level such as goamd64), so that
// benchstat reads the text unchanged. Keys that change from run to run
// without changing the figures' meaning (the load average, perfnb's
// version) are left out, since benchstat would split its tables by them.
// extra holds more configuration keys, such as "notebook".
func WriteBench(w io.Writer, recs []Record, extra map[string]string) error {
	bw := bufio.NewWriter(w)
	names := NameResults(recs)
	width := 0
	for i, rec := range recs {
		for j := range rec.Results {
			width = max(width, len(benchName(rec, names[i][j].Bench)))
		}
	}
	var config []string // the configuration lines written last
	for i, rec := range recs {
		config = writeConfig(bw, config, rec.Environment.benchConfig(extra))
		for j, res := range rec.Results {
			writeRuns(bw, benchName(rec, names[i][j].Bench), width, res)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing benchmark text: %w", err)
	}
	return nil
}

// benchName is a result's full name as go test prints it: with the
// Benchmark prefix, and with the GOMAXPROCS suffix unless it is 1.
func benchName(rec Record, name string) string {
	name = "Benchmark" + name
	if p := rec.Environment.GOMAXPROCS; p > 1 {
		name += fmt.Sprintf("-%d", p)
	}
	return name
}

// writeConfig writes the lines of config that differ from those of
// last, and an empty value for each key of last that config does not
// have (which ends it, for a reader of the format), and returns config.
func writeConfig(w io.Writer, last, config []string) []string {
	keys := map[string]bool{}
	for _, line := range config {
		key, _, _ := strings.Cut(line, ":")
		keys[key] = true
		if !slices.Contains(last, line) {
			fmt.Fprintln(w, line)
		}
	}
	for _, line := range last {
		if key, _, _ := strings.Cut(line, ":"); !keys[key] {
			fmt.Fprintln(w, key+":")
		}
	}
	return config
}

// writeRuns writes one line per run of res, its name padded to width.
func writeRuns(w io.Writer, name string, width int, res Result) {
	runs := 0
	for _, m := range res.Metrics {
		runs = max(runs, len(m.Values))
	}
	metrics := slices.Clone(res.Metrics)
	sort.SliceStable(metrics, func(i, j int) bool {
		oi, oj := unitOrder(metrics[i].Unit), unitOrder(metrics[j].Unit)
		return oi < oj || oi == oj && oi == 1 && metrics[i].Unit < metrics[j].Unit
	})
	for i := range runs {
		fmt.Fprintf(w, "%-*s\t%8d", width, name, max(res.Iterations, 1))
		for _, m := range metrics {
			if i < len(m.Values) {
				w.Write([]byte{'\t'})
				writeValue(w, m.Values[i], m.Unit)
			}
		}
		fmt.Fprintln(w)
	}
}

// unitOrder places the units of a line as go test does: ns/op first,
// the benchmark's own metrics (in name order), then B/op and allocs/op.
func unitOrder(unit string) int {
	switch unit {
	case "sec/op":
		return 0
	case "B/op":
		return 2
	case "allocs/op":
		return 3
	}
	return 1
}

// writeValue writes one figure as the testing package prints it: times
// per operation in ns/op, B/op and allocs/op as whole numbers, and every
// other figure in ten places before the decimal point and four
// significant digits after it.
func writeValue(w io.Writer, v float64, unit string) {
	switch {
	case unit == "sec/op":
		prettyPrint(w, v*1e9, "ns/op")
	case (unit == "B/op" || unit == "allocs/op") && v == math.Trunc(v):
		fmt.Fprintf(w, "%8d %s", int64(v), unit)
	default:
		prettyPrint(w, v, unit)
	}
}

// prettyPrint writes x and its unit in the layout of the testing
// package's benchmark lines.
func prettyPrint(w io.Writer, x float64, unit string) {
	var format string
	switch y := math.Abs(x); {
	case y == 0 || y >= 999.95:
		format = "%10.0f %s"
	case y >= 99.995:
		format = "%12.1f %s"
	case y >= 9.9995:
		format = "%13.2f %s"
	case y >= 0.99995:
		format = "%14.3f %s"
	case y >= 0.099995:
		format = "%15.4f %s"
	case y >= 0.0099995:
		format = "%16.5f %s"
	case y >= 0.00099995:
		format = "%17.6f %s"
	default:
		format = "%18.7f %s"
	}
	fmt.Fprintf(w, format, x, unit)
}

// benchConfig is the environment, and extra, as benchmark configuration
// lines ("key: value"), in the order go test prints its own.
func (e Environment) benchConfig(extra map[string]string) []string {
	var c []string
	add := func(k, v string) {
		if v != "" {
			c = append(c, k+": "+strings.Join(strings.Fields(v), " "))
		}
	}
	add("goos", e.GOOS)
	add("goarch", e.GOARCH)
	add("cpu", e.CPU)
	add("go", e.Go)
	for _, k := range sortedKeys(e.Build) {
		if k != "CGO_ENABLED" {
			add(strings.ToLower(k), e.Build[k])
		}
	}
	for _, k := range sortedKeys(extra) {
		add(k, extra[k])
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
