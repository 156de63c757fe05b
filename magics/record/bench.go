package record

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// WriteBench writes the records' figures in Go's benchmark format, one
// line per run, with the environment as configuration lines (goos,
// goarch, cpu, go, and the architecture level such as goamd64), so that
// benchstat reads them. Keys that change from run to run without changing
// the figures' meaning (the load average, perfnb's version) are left out,
// since benchstat would split its tables by them. extra holds more
// configuration keys, such as "notebook", written before each record.
func WriteBench(w io.Writer, recs []Record, extra map[string]string) error {
	bw := benchfmt.NewWriter(w)
	for _, rec := range recs {
		config := rec.Environment.benchConfig()
		for _, k := range sortedKeys(extra) {
			config = append(config, benchfmt.Config{Key: k, Value: []byte(extra[k]), File: true})
		}
		for _, res := range rec.Results {
			runs := 0
			for _, m := range res.Metrics {
				runs = max(runs, len(m.Values))
			}
			name := rec.Name(res)
			if rec.Environment.GOMAXPROCS > 1 {
				name += fmt.Sprintf("-%d", rec.Environment.GOMAXPROCS)
			}
			for i := range runs {
				r := &benchfmt.Result{Config: config, Name: benchfmt.Name(name), Iters: max(res.Iterations, 1)}
				for _, m := range res.Metrics {
					if i < len(m.Values) {
						r.Values = append(r.Values, benchfmt.Value{Value: m.Values[i], Unit: m.Unit})
					}
				}
				if err := bw.Write(r); err != nil {
					return fmt.Errorf("writing benchmark text: %w", err)
				}
			}
		}
	}
	return nil
}

// benchConfig is the environment as benchmark configuration lines.
func (e Environment) benchConfig() []benchfmt.Config {
	var c []benchfmt.Config
	add := func(k, v string) {
		if v != "" {
			c = append(c, benchfmt.Config{Key: k, Value: []byte(v), File: true})
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
