package timeit

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// The expected texts are IPython's output for the same figures
// (IPython/core/magics/execution.py: the "CPU times" and "Wall time"
// lines with _format_time's three significant digits, and "Compiler :"
// above 0.1 s).
func TestTimeText(t *testing.T) {
	tests := []struct {
		t    Times
		want string
	}{
		{Times{User: 1.2e-3, Sys: 0, Wall: 1.21e-3},
			"CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 1.21 ms"},
		{Times{User: 2.05, Sys: 0.0119, Wall: 2.06},
			"CPU times: user 2.05 s, sys: 11.9 ms, total: 2.06 s\nWall time: 2.06 s"},
		{Times{User: 3e-6, Sys: 1e-6, Wall: 5.96e-6},
			"CPU times: user 3 \u00b5s, sys: 1 \u00b5s, total: 4 \u00b5s\nWall time: 5.96 \u00b5s"},
		{Times{User: 75, Sys: 0.5, Wall: 3725},
			"CPU times: user 1min 15s, sys: 500 ms, total: 1min 15s\nWall time: 1h 2min 5s"},
		{Times{User: 0.01, Sys: 0.002, Wall: 0.012, Compile: 0.1},
			"CPU times: user 10 ms, sys: 2 ms, total: 12 ms\nWall time: 12 ms"},
		{Times{User: 0.01, Sys: 0.002, Wall: 0.012, Compile: 0.78},
			"CPU times: user 10 ms, sys: 2 ms, total: 12 ms\nWall time: 12 ms\nCompiler : 780 ms"},
	}
	for _, tt := range tests {
		if got := tt.t.Text(); got != tt.want {
			t.Errorf("Text() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}

func TestTimeSnippet(t *testing.T) {
	tests := []struct {
		src       string
		none      bool
		err       string
		line, col int
	}{
		{src: "%time f(x)", line: 1, col: 7},
		{src: "%time    f(x)", line: 1, col: 10},
		{src: "x := 1\n  %time f(x)", line: 2, col: 9},
		{src: "%%time\nf(x)\ng()", line: 2, col: 1},
		{src: "%time", none: true},
		{src: "%%time\n\n", none: true},
		{src: "%%time f(x)\ng()", err: "Can't use statement directly after '%%time'!"},
	}
	for _, tt := range tests {
		sn, err := timeSnippet(magicstest.Call(t, 3, tt.src))
		switch {
		case tt.err != "":
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Name != "UsageError" || ke.Value != tt.err {
				t.Errorf("%q: error %v, want UsageError %q", tt.src, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.src, err)
		case tt.none != (sn == nil):
			t.Errorf("%q: snippet %+v", tt.src, sn)
		case sn != nil && (sn.Line != tt.line || sn.Col != tt.col || sn.Cell != 3):
			t.Errorf("%q: snippet at %d:%d (cell %d), want %d:%d", tt.src, sn.Line, sn.Col, sn.Cell, tt.line, tt.col)
		}
	}
}

// textPattern is IPython's output: the CPU times, the wall time (300 ms
// or more for the sleep), and the build time when above 0.1 s.
var textPattern = regexp.MustCompile(`^CPU times: user [0-9.]+ [nµm]?s, sys: [0-9.]+ [nµm]?s, total: [0-9.]+ [nµm]?s\nWall time: [0-9.]+ (ms|s)(\nCompiler : [0-9.]+ m?s)?$`)

func runTimeCall(t *testing.T, ws magics.Env, src string) (*kerneltest.Publisher, error) {
	t.Helper()
	pub := &kerneltest.Publisher{}
	ws.Publisher = pub
	_, err := NewTime().Run(context.Background(), magicstest.Call(t, 4, src), ws)
	return pub, err
}

func TestTimeEndToEnd(t *testing.T) {
	env := magics.Env{
		Workspace: magicstest.WorkspaceFunc(t),
		Version:   "test-version",
		Decls: []cell.Decl{{Kind: cell.FuncDecl, Name: "spin", Cell: 1, Line: 1,
			Source: "func spin(n int) int {\n\tx := 0\n\tfor i := range n {\n\t\tx += i * i % 7\n\t}\n\treturn x\n}"}},
	}
	t.Run("sleep takes wall time, not CPU time", func(t *testing.T) {
		pub, err := runTimeCall(t, env, "%time time.Sleep(300 * time.Millisecond)")
		if err != nil {
			t.Fatal(err)
		}
		d := pub.Displays()
		if len(d) != 1 {
			t.Fatalf("%d displays", len(d))
		}
		text := d[0]["text/plain"].(string)
		if !textPattern.MatchString(text) {
			t.Errorf("text %q", text)
		}
		rec := d[0][record.MIMEType].(*record.Record)
		wall, _ := rec.Results[0].Metric("sec/op")
		cpu, _ := rec.Results[0].Metric(harness.CPUUnit)
		if len(wall) != 1 || wall[0] < 0.3 || wall[0] > 1 || len(cpu) != 1 || cpu[0] > 0.1 {
			t.Errorf("wall %v, cpu %v", wall, cpu)
		}
		if rec.Magic != "time" || rec.Source != "%time time.Sleep(300 * time.Millisecond)" || rec.Environment.Perfnb != "test-version" || rec.Environment.GOMAXPROCS < 1 {
			t.Errorf("record %+v", rec)
		}
	})
	t.Run("a busy cell body uses CPU time, its output comes first", func(t *testing.T) {
		pub, err := runTimeCall(t, env, "%%time\nn := spin(50_000_000)\nfmt.Println(\"done\", n > 0)")
		if err != nil {
			t.Fatal(err)
		}
		if got := pub.Text("stdout"); got != "done true\n" {
			t.Errorf("stdout %q", got)
		}
		rec := pub.Displays()[0][record.MIMEType].(*record.Record)
		// Not compared with the wall time: on a loaded machine the body
		// waits for a CPU.
		user, _ := rec.Results[0].Metric(harness.UserUnit)
		sys, _ := rec.Results[0].Metric(harness.SysUnit)
		cpu, _ := rec.Results[0].Metric(harness.CPUUnit)
		if len(user) != 1 || user[0] <= 0 || math.Abs(cpu[0]-user[0]-sys[0]) > 1e-9 {
			t.Errorf("user %v, sys %v, cpu %v", user, sys, cpu)
		}
	})
	t.Run("errors point at the cell", func(t *testing.T) {
		_, err := runTimeCall(t, env, "%time   undefinedThing()")
		var ke *protocol.Error
		if !errors.As(err, &ke) || ke.Name != "CompileError" || !strings.Contains(ke.Value, "In[4]:1:9: undefined: undefinedThing") {
			t.Errorf("got %v", err)
		}
		_, err = runTimeCall(t, env, "%%time\npanic(\"boom\")")
		if !errors.As(err, &ke) || ke.Name != "panic" {
			t.Errorf("got %v", err)
		}
	})
}
