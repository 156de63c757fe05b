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
	run := func(out string, args ...string) (string, int) {
		t.Helper()
		log, err := e.run(t, 3*time.Minute, e.bin, append([]string{"run", gate, "-o", filepath.Join(dir, out)}, args...)...)
		return log, exitStatus(t, err)
	}
	compare := func(args ...string) (string, int) {
		t.Helper()
		log, err := e.run(t, time.Minute, e.bin, append([]string{"compare"}, args...)...)
		return log, exitStatus(t, err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }

	for _, r := range []struct{ out, slowdown string }{{"base.ipynb", "1"}, {"same.ipynb", "1"}, {"slow.ipynb", "20"}} {
		if log, code := run(r.out, "-p", "slowdown", r.slowdown, "-p", "n", "20000"); code != 0 {
			t.Fatalf("perfnb run -p slowdown %s: exit %d\n%s", r.slowdown, code, log)
		}
	}

	t.Run("the environment is recorded in the saved notebook", func(t *testing.T) {
		recs := records(t, path("base.ipynb"))
		ti, tc, tm := recs["timeit"], recs["timeit-cpu"], recs["time"]
		if len(ti) != 1 || len(tc) != 1 || len(tm) != 1 {
			t.Fatalf("records %v", recs)
		}
		goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
		if err != nil {
			t.Fatal(err)
		}
		version, _ := exec.Command(e.bin, "version").Output()
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
	})

	t.Run("the injected cell follows the parameters cell", func(t *testing.T) {
		data, _ := os.ReadFile(path("slow.ipynb"))
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
	})

	t.Run("a regression of many times fails the gate", func(t *testing.T) {
		log, code := compare(path("base.ipynb"), path("slow.ipynb"))
		if code != 1 || !strings.Contains(log, "REGRESSION") || !strings.Contains(log, "In4/timeit") || !strings.Contains(log, "In5/timeit") {
			t.Errorf("exit %d, want 1:\n%s", code, log)
		}
	})

	t.Run("the same code run twice passes a tolerant gate", func(t *testing.T) {
		log, code := compare(path("base.ipynb"), path("same.ipynb"), "--threshold", "500%")
		if code != 0 || !strings.Contains(log, "no regression") || !strings.Contains(log, "too few runs to test") {
			t.Errorf("exit %d, want 0:\n%s", code, log)
		}
	})

	t.Run("benchmark text", func(t *testing.T) {
		log, code := compare("--format", "bench", path("base.ipynb"), path("slow.ipynb"))
		if code != 0 || strings.Count(log, "notebook: ") != 2 || !strings.Contains(log, "BenchmarkIn4/timeit") || !strings.Contains(log, "goos: ") {
			t.Errorf("exit %d:\n%s", code, log)
		}
		// -o writes the same text beside the table and the gate.
		if _, code := compare("-o", path("bench.txt"), path("base.ipynb"), path("slow.ipynb")); code != 1 {
			t.Errorf("compare -o: exit %d, want 1", code)
		}
		if b, err := os.ReadFile(path("bench.txt")); err != nil || string(b) != log {
			t.Errorf("-o wrote %q (%v), want what --format bench printed", b, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
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
			{"corrupt JSON", func() (string, int) { return compare(corrupt, path("base.ipynb")) }, "not a notebook: invalid JSON"},
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
	})
}
