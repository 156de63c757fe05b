//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
)

// The timed bodies of e2e/testdata/bodies.ipynb, as the gate names them.
const (
	aluRow    = "%timeit alu(aluSteps)"
	lookupRow = "%timeit lookup(lookupReps)"
	itoaRow   = "%timeit itoa(itoaReps)"
	memitRow  = "%memit alu(aluSteps)"
)

// streamMemory streams through 256 MiB of memory, on and off every half
// second, as another user's job on a shared machine, until the returned
// function is called.
func streamMemory() (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := make([]byte, 256<<20)
		for start := time.Now(); !done.Load(); {
			if time.Since(start)%time.Second > 500*time.Millisecond {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			for i := 0; i < len(b); i += 64 {
				b[i]++
			}
		}
	}()
	return func() { done.Store(true); wg.Wait() }
}

// flaggedRows returns the bodies whose rows a report calls a regression.
func flaggedRows(report string) []string {
	var rows []string
	for _, line := range strings.Split(report, "\n") {
		if !strings.Contains(line, "REGRESSION") {
			continue
		}
		for _, b := range []string{aluRow, lookupRow, itoaRow, memitRow} {
			if strings.HasPrefix(line, b+" ") {
				rows = append(rows, b)
			}
		}
	}
	return rows
}

// TestGateInterleaved runs perfnb compare --run, the gate recommended for
// a shared machine, on the bodies notebook: unchanged code beside a
// process streaming through memory is not a regression; twice the work
// in one body is, and only that body is named; the memory of a body that
// allocates nothing is never flagged; parameters go to both sides with
// -p and to one with --new-p.
func TestGateInterleaved(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	bodies, err := filepath.Abs("testdata/bodies.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	copyOf := filepath.Join(dir, "bodies-copy.ipynb")
	data, _ := os.ReadFile(bodies)
	os.WriteFile(copyOf, data, 0o644)

	t.Run("unchanged code under a streaming load", func(t *testing.T) {
		stop := streamMemory()
		log, err := e.run(t, 5*time.Minute, e.bin, "compare", "--run", "--rounds", "6", bodies, copyOf)
		stop()
		if code := exitStatus(t, err); code != 0 || len(flaggedRows(log)) > 0 || !strings.Contains(log, "interleaved rounds") {
			t.Errorf("exit %d, want 0 with no regression:\n%s", code, log)
		}
	})
	t.Run("twice the lookups", func(t *testing.T) {
		bench := filepath.Join(dir, "bench.txt")
		log, err := e.run(t, 5*time.Minute, e.bin, "compare", "--run", "--rounds", "8", "-o", bench,
			bodies, "-p", "slowItoa", "1", "--new-p", "slowLookup", "2")
		code := exitStatus(t, err)
		if rows := flaggedRows(log); code != 1 || len(rows) != 1 || rows[0] != lookupRow ||
			!strings.Contains(log, "1 regression(s) (threshold 25%, alpha 0.05): "+lookupRow+" sec/op") {
			t.Errorf("exit %d, flagged %v; want 1, only %s:\n%s", code, rows, lookupRow, log)
		}
		checkBenchText(t, bench)
	})
}

// checkBenchText checks the figures compare --run -o wrote: every
// round's runs of both sides, in Go's benchmark format.
func checkBenchText(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	runs := map[string]int{}
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v", r.Result())
		}
		name := res.Name.String()
		if _, ok := res.Value("sec/op"); strings.HasPrefix(name, "Timeit/lookup(lookupReps)") && ok {
			runs[res.GetConfig("notebook")]++
		}
	}
	if len(runs) != 2 {
		t.Errorf("lookup runs by notebook: %v (want an old and a new side)", runs)
	}
	for side, n := range runs {
		if n < 5*6 {
			t.Errorf("%s: %d runs of lookup, want 5 in each of 6 rounds or more", side, n)
		}
	}
}

// TestGateBadInput: notebooks that cannot be compared end perfnb compare
// with status 2 and say why, in both modes.
func TestGateBadInput(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	corrupt := write("corrupt.ipynb", `{"nbformat": 4, "cells": [{"cell_type": "code"`)
	plain := write("plain.ipynb", `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": "x := 1", "outputs": [], "execution_count": null}]}`)
	zero := filepath.Join(dir, "zero.ipynb")
	os.Symlink("/dev/zero", zero)
	other := write("other.ipynb", `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "a", "metadata": {},
		"source": "%timeit -r 5 -n 1000 strings.Repeat(\"a\", 3)", "outputs": [], "execution_count": null}]}`)
	bodies, _ := filepath.Abs("testdata/bodies.ipynb")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"corrupt JSON", []string{"--run", corrupt, bodies}, "invalid JSON"},
		{"a notebook that measures nothing", []string{"--run", plain, plain, "--rounds", "1"}, "holds no perfnb results"},
		{"mismatched notebooks", []string{"--run", other, bodies}, "matches one of"},
		{"one notebook, one set of parameters", []string{"--run", bodies}, "give --old-p NAME VALUE or --new-p NAME VALUE"},
		{"a link to /dev/zero", []string{zero, zero}, "is a device, not a notebook file"},
		{"-p without --run", []string{"-p", "n", "1", bodies, bodies}, "are for perfnb compare --run"},
	} {
		log, err := e.run(t, 3*time.Minute, e.bin, append([]string{"compare"}, tt.args...)...)
		if code := exitStatus(t, err); code != 2 || !strings.Contains(log, tt.want) {
			t.Errorf("%s: exit %d, want 2 with %q:\n%s", tt.name, code, tt.want, log)
		}
	}
}

// TestEndlessInput: perfnb compare reading a pipe that never ends stops
// at the size limit with a clear error, its memory bounded.
func TestEndlessInput(t *testing.T) {
	e := setup(t)
	fifo := filepath.Join(t.TempDir(), "endless.ipynb")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.WriteString(`{"nbformat": 4, "cells": [`)
		spaces := []byte(strings.Repeat(" ", 1<<16))
		for ctx.Err() == nil {
			if _, err := w.Write(spaces); err != nil {
				return
			}
		}
	}()
	cmd := e.command(ctx, e.bin, "compare", fifo, fifo)
	out, err := cmd.CombinedOutput()
	if code := exitStatus(t, err); code != 2 || !strings.Contains(string(out), "larger than 128 MiB, the most perfnb reads") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 512<<10 {
		t.Errorf("perfnb compare grew to %d KiB reading an endless pipe", ru.Maxrss)
	}
}

// waitForLine reads lines from r until one starts with prefix.
func waitForPrefix(t *testing.T, r *bufio.Reader, prefix string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if strings.HasPrefix(line, prefix) {
			return
		}
		if err != nil {
			t.Fatalf("no line %q: %v", prefix, err)
		}
	}
}

// TestRunStopsOnSignals: perfnb run ended by SIGTERM or SIGHUP (what CI
// systems, timeout(1) and a closed terminal send), as by an interrupt,
// writes the notebook with what ran and exits with 128 + the signal.
func TestRunStopsOnSignals(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	nb := filepath.Join(dir, "slow.ipynb")
	os.WriteFile(nb, []byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
		{"cell_type": "code", "id": "a", "metadata": {}, "source": "fmt.Println(\"first\")", "outputs": [], "execution_count": null},
		{"cell_type": "code", "id": "b", "metadata": {}, "source": "time.Sleep(time.Minute)", "outputs": [], "execution_count": null},
		{"cell_type": "code", "id": "c", "metadata": {}, "source": "fmt.Println(\"never\")", "outputs": [], "execution_count": null}]}`), 0o644)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(sig.String(), " ", "-")+".ipynb")
			cmd := exec.Command(e.bin, "run", nb, "-o", out)
			cmd.Env = e.environ
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForPrefix(t, bufio.NewReader(stdout), "[2/3] In[2] time.Sleep")
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("perfnb run did not stop on %v", sig)
			}
			if code := exitStatus(t, err); code != 128+int(sig) {
				t.Errorf("exit %d, want %d", code, 128+int(sig))
			}
			var got notebook
			b, rerr := os.ReadFile(out)
			if rerr != nil || json.Unmarshal(b, &got) != nil {
				t.Fatalf("no notebook written: %v", rerr)
			}
			if !strings.Contains(text(got.Cells[0].Outputs[0]["text"]), "first") || len(got.Cells[1].Outputs) == 0 || len(got.Cells[2].Outputs) != 0 {
				t.Errorf("cells written: %+v", got.Cells)
			}
		})
	}
}

// TestRunOutputFolder: perfnb run -o into a folder that does not exist
// creates it, as nbconvert does; a folder that cannot be made is an
// error before any cell runs.
func TestRunOutputFolder(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	nb := filepath.Join(dir, "nb.ipynb")
	os.WriteFile(nb, []byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
		{"cell_type": "code", "id": "a", "metadata": {}, "source": "fmt.Println(\"ran\")", "outputs": [], "execution_count": null}]}`), 0o644)
	out := filepath.Join(dir, "results", "today", "nb.ipynb")
	if log, err := e.run(t, 2*time.Minute, e.bin, "run", nb, "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "ran") {
		t.Errorf("the notebook in a new folder: %v", err)
	}
	blocked := filepath.Join(nb, "sub", "nb.ipynb") // under a file
	log, err := e.run(t, 2*time.Minute, e.bin, "run", nb, "-o", blocked)
	if err == nil || !strings.Contains(log, "cannot write the notebook to "+blocked) || strings.Contains(log, "[1/1]") {
		t.Errorf("-o under a file: %v\n%s", err, log)
	}
}

// TestRunRefusesDevices: perfnb run on a link to /dev/zero stops at once
// with status 2 and says why, rather than reading without end.
func TestRunRefusesDevices(t *testing.T) {
	e := setup(t)
	zero := filepath.Join(t.TempDir(), "zero.ipynb")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	log, err := e.run(t, time.Minute, e.bin, "run", zero)
	if code := exitStatus(t, err); code != 2 || !strings.Contains(log, "is a device, not a notebook file") {
		t.Errorf("exit %d, want 2:\n%s", code, log)
	}
}
