//go:build unix

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/magics/record"
)

// exitStatus is the exit status of a finished command (0 for success).
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("the command did not finish: %v", err)
	return -1
}

// records returns the perfnb results saved in a notebook, by cell id.
func records(t *testing.T, path string) map[string][]record.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			ID       string `json:"id"`
			Metadata struct {
				Tags []string `json:"tags"`
			} `json:"metadata"`
			Source  any `json:"source"`
			Outputs []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatal(err)
	}
	out := map[string][]record.Record{}
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if raw, ok := o.Data[record.MIMEType]; ok {
				var r record.Record
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatalf("cell %s: %v", c.ID, err)
				}
				out[c.ID] = append(out[c.ID], r)
			}
		}
	}
	return out
}

// TestParametersAndCompare runs the gate notebook (e2e/testdata/gate.ipynb,
// which scripts/perf-gate also uses) with perfnb run -p, then gates the
// runs with perfnb compare, as a CI job would.
func TestParametersAndCompare(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	gate, err := filepath.Abs("testdata/gate.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateRuns{e: e, dir: dir, gate: gate}

	for _, r := range []struct{ out, slowdown string }{{"base.ipynb", "1"}, {"same.ipynb", "1"}, {"slow.ipynb", "20"}} {
		if log, code := g.run(t, r.out, "-p", "slowdown", r.slowdown, "-p", "n", "20000"); code != 0 {
			t.Fatalf("perfnb run -p slowdown %s: exit %d\n%s", r.slowdown, code, log)
		}
	}

	t.Run("the environment is recorded in the saved notebook", g.environmentRecorded)
	t.Run("the injected cell follows the parameters cell", g.injectedCellFollowsParameters)
	t.Run("a regression of many times fails the gate", g.regressionFailsGate)
	t.Run("the same code run twice passes a tolerant gate", g.sameCodePassesTolerantGate)
	t.Run("benchmark text", g.benchmarkText)
	t.Run("bad input", g.badInput)
}

// gateRuns are the runs of the gate notebook that TestParametersAndCompare
// saves in dir; its methods after path are the test's subtests.
type gateRuns struct {
	e    *env
	dir  string // the saved notebooks
	gate string // the gate notebook
}

// run runs perfnb run on the gate notebook, saving it as out in g.dir, and
// returns its output and exit status.
func (g *gateRuns) run(t *testing.T, out string, args ...string) (string, int) {
	t.Helper()
	log, err := g.e.run(t, 3*time.Minute, g.e.bin, append([]string{"run", g.gate, "-o", filepath.Join(g.dir, out)}, args...)...)
	return log, exitStatus(t, err)
}

// compare runs perfnb compare and returns its output and exit status.
func (g *gateRuns) compare(t *testing.T, args ...string) (string, int) {
	t.Helper()
	log, err := g.e.run(t, time.Minute, g.e.bin, append([]string{"compare"}, args...)...)
	return log, exitStatus(t, err)
}

// path is the path of the file name in g.dir.
func (g *gateRuns) path(name string) string { return filepath.Join(g.dir, name) }

// environmentRecorded checks the records, and their environment, that the
// base run saved.
func (g *gateRuns) environmentRecorded(t *testing.T) {
	recs := records(t, g.path("base.ipynb"))
	ti, tc, tm := recs["timeit"], recs["timeit-cpu"], recs["time"]
	if len(ti) != 1 || len(tc) != 1 || len(tm) != 1 {
		t.Fatalf("records %v", recs)
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	version, _ := exec.Command(g.e.bin, "version").Output()
	env := ti[0].Environment
	if env.Go != strings.TrimSpace(string(goVersion)) || env.GOOS == "" || env.GOARCH == "" || env.GOMAXPROCS < 1 ||
		env.CPU == "" || len(env.LoadAvg) != 3 || !strings.HasSuffix(strings.TrimSpace(string(version)), " "+env.Perfnb) {
		t.Errorf("environment %+v (go %s, %s)", env, goVersion, version)
	}
	if v, ok := ti[0].Results[0].Metric("sec/op"); !ok || len(v) != 10 || ti[0].Source != "%timeit -r 10 work(n)" {
		t.Errorf("timeit record %+v", ti[0])
	}
	if v, ok := tc[0].Results[0].Metric("cpu-sec/op"); !ok || len(v) != 10 || tc[0].Clock != "cpu" {
		t.Errorf("timeit -c record %+v", tc[0])
	}
	if v, ok := tm[0].Results[0].Metric("user-sec/op"); !ok || len(v) != 1 || tm[0].Magic != "time" {
		t.Errorf("time record %+v", tm[0])
	}
}

// injectedCellFollowsParameters checks the cell that -p injected into the
// slow run.
func (g *gateRuns) injectedCellFollowsParameters(t *testing.T) {
	data, _ := os.ReadFile(g.path("slow.ipynb"))
	var nb struct {
		Cells []struct {
			Metadata struct{ Tags []string } `json:"metadata"`
			Source   []string                `json:"source"`
		} `json:"cells"`
	}
	json.Unmarshal(data, &nb)
	if len(nb.Cells) != 7 || len(nb.Cells[2].Metadata.Tags) != 1 || nb.Cells[2].Metadata.Tags[0] != "injected-parameters" ||
		!strings.Contains(strings.Join(nb.Cells[2].Source, ""), "var slowdown float64 = 20") {
		t.Errorf("cells %+v", nb.Cells)
	}
}

// regressionFailsGate checks that comparing the base run with the slow
// one fails the gate, naming the results by what they measure, unless
// the machine's load made the saved timings inconclusive (exit 3, with
// the reason), which on a shared machine it may.
func (g *gateRuns) regressionFailsGate(t *testing.T) {
	log, code := g.compare(t, g.path("base.ipynb"), g.path("slow.ipynb"))
	switch {
	case code == 3 && strings.Contains(log, "inconclusive timings: ") && !strings.Contains(log, "REGRESSION"):
		t.Logf("the timings were inconclusive here:\n%s", log)
	case code != 1 || !strings.Contains(log, "REGRESSION") || !strings.Contains(log, "%timeit work(n) ") || !strings.Contains(log, "%timeit work(n)#01 "):
		t.Errorf("exit %d, want 1:\n%s", code, log)
	}
}

// sameCodePassesTolerantGate checks that two runs of the same code pass a
// gate of 500% (or are inconclusive, exit 3).
func (g *gateRuns) sameCodePassesTolerantGate(t *testing.T) {
	log, code := g.compare(t, g.path("base.ipynb"), g.path("same.ipynb"), "--threshold", "500%")
	if code != 0 && code != 3 || !strings.Contains(log, "no regression") || !strings.Contains(log, "had too few runs to be tested") {
		t.Errorf("exit %d, want 0 or 3:\n%s", code, log)
	}
}

// benchmarkText checks compare's benchmark format, printed and written
// with -o.
func (g *gateRuns) benchmarkText(t *testing.T) {
	log, code := g.compare(t, "--format", "bench", g.path("base.ipynb"), g.path("slow.ipynb"))
	if code != 0 || strings.Count(log, "notebook: ") != 2 || !strings.Contains(log, "BenchmarkTimeit/work(n)") || !strings.Contains(log, " ns/op") || !strings.Contains(log, "goos: ") {
		t.Errorf("exit %d:\n%s", code, log)
	}
	// -o writes the same text beside the table and the gate.
	if _, code := g.compare(t, "-o", g.path("bench.txt"), g.path("base.ipynb"), g.path("slow.ipynb")); code != 1 && code != 3 {
		t.Errorf("compare -o: exit %d, want 1 (or 3)", code)
	}
	if b, err := os.ReadFile(g.path("bench.txt")); err != nil || string(b) != log {
		t.Errorf("-o wrote %q (%v), want what --format bench printed", b, err)
	}
}

// badInput checks that run and compare exit with status 2 and say why on
// bad parameters and notebooks.
func (g *gateRuns) badInput(t *testing.T) {
	run := func(out string, args ...string) (string, int) {
		t.Helper()
		return g.run(t, out, args...)
	}
	compare := func(args ...string) (string, int) {
		t.Helper()
		return g.compare(t, args...)
	}
	path, gate := g.path, g.gate
	corrupt := path("corrupt.ipynb")
	os.WriteFile(corrupt, []byte(`{"nbformat": 4, "cells": [{"cell_type": "code"`), 0o644)
	other := path("other.ipynb")
	os.WriteFile(other, []byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "zz", "metadata": {},
		"source": "", "execution_count": 1, "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"`+record.MIMEType+`":
		{"magic": "timeit", "source": "%timeit other()", "cell": 9, "results": [{"iterations": 1, "metrics": [{"unit": "sec/op", "values": [1]}]}], "environment": {}}}}]}]}`), 0o644)
	for _, tt := range []struct {
		name string
		log  func() (string, int)
		want string
	}{
		{"unknown parameter", func() (string, int) { return run("x.ipynb", "-p", "size", "3") }, `the cell tagged "parameters" declares no size (it declares: n, slowdown)`},
		{"value of another type", func() (string, int) { return run("x.ipynb", "-p", "n", "many") }, "n has type int: the value is not a whole number"},
		{"-p without a value", func() (string, int) { return run("x.ipynb", "-p", "n") }, "-p needs a name and a value"},
		{"corrupt JSON", func() (string, int) { return compare(corrupt, path("base.ipynb")) }, "is not a notebook perfnb can read: invalid JSON"},
		{"a notebook without results", func() (string, int) { return compare(gate, path("base.ipynb")) }, "holds no perfnb results"},
		{"mismatched notebooks", func() (string, int) { return compare(path("base.ipynb"), other) }, "are they runs of the same notebook?"},
		{"one notebook", func() (string, int) { return compare(path("base.ipynb")) }, "usage: perfnb compare"},
		{"bad threshold", func() (string, int) { return compare("--threshold", "lots", path("base.ipynb"), path("same.ipynb")) }, "--threshold needs a percentage"},
	} {
		log, code := tt.log()
		if code != 2 || !strings.Contains(log, tt.want) {
			t.Errorf("%s: exit %d, want 2 with %q:\n%s", tt.name, code, tt.want, log)
		}
	}
}
