package prun

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		call    magics.Call
		check   func(c *config) bool
		wantErr string
	}{
		{"defaults", magics.Call{Magic: cell.Magic{Args: "f()", Line: 2}, Count: 4},
			func(c *config) bool {
				return !c.flat && c.limit == 0 && c.profiles.Duration == time.Second && c.body == native.Snippet{Source: "f()", Cell: 4, Line: 2, Col: 7}
			}, ""},
		{"options", magics.Call{Magic: cell.Magic{Cell: true, Args: "-s flat -l 5 --duration 200ms", Body: "f()\n", BodyLine: 2}, Count: 3},
			func(c *config) bool {
				return c.flat && c.limit == 5 && c.profiles.Duration == 200*time.Millisecond && c.body.Line == 2
			}, ""},
		{"IPython's sort names", magics.Call{Magic: cell.Magic{Args: "-s tottime f()"}}, func(c *config) bool { return c.flat }, ""},
		{"cumulative", magics.Call{Magic: cell.Magic{Args: "-s cumulative f()"}}, func(c *config) bool { return !c.flat }, ""},
		{"negative -l", magics.Call{Magic: cell.Magic{Args: "-l -3 f()"}}, nil, "at least 1"},
		{"zero -l", magics.Call{Magic: cell.Magic{Args: "-l 0 f()"}}, nil, "at least 1"},
		{"bad -l", magics.Call{Magic: cell.Magic{Args: "-l many f()"}}, nil, "whole number"},
		{"bad -s", magics.Call{Magic: cell.Magic{Args: "-s name f()"}}, nil, "-s sorts by"},
		{"nothing", magics.Call{Magic: cell.Magic{Args: "-l 3"}}, nil, "nothing to profile"},
		{"code on the cell line", magics.Call{Magic: cell.Magic{Cell: true, Args: "f()", Body: "g()"}}, nil, "options on its line"},
		{"unknown", magics.Call{Magic: cell.Magic{Args: "-x f()"}}, nil, "not recognized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.Name = "prun"
			c, err := parse(tt.call)
			if tt.wantErr != "" {
				var ke *protocol.Error
				if !errors.As(err, &ke) || ke.Name != "UsageError" || !strings.Contains(ke.Value, tt.wantErr) {
					t.Fatalf("error = %v, want a UsageError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("got %+v", c)
			}
		})
	}
}

// TestTopMatchesPprof compares the report with go tool pprof -top -cum on
// the same profile: the same figures in the same order, the cell's
// functions renamed after their cells.
func TestTopMatchesPprof(t *testing.T) {
	const file = "../scalene/testdata/cpu.pb.gz"
	p, err := profiles.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Top(p, 3, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.Text)
	if len(r.Rows) < 3 {
		t.Fatalf("%d rows", len(r.Rows))
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", file).Output()
	if err != nil {
		t.Skipf("go tool pprof: %v", err)
	}
	var want [][]string
	for _, l := range strings.Split(string(out), "\n") {
		if m := topRow.FindStringSubmatch(l); m != nil && !strings.Contains(l, "flat%") {
			want = append(want, m[1:])
		}
	}
	if len(want) != len(r.Rows) {
		t.Fatalf("%d rows, go tool pprof has %d", len(r.Rows), len(want))
	}
	renamed := regexp.MustCompile(`^perfnbcell\.(work|alloc|BenchmarkScalene)( \(inline\))?$`)
	for i, row := range r.Rows {
		got := []string{row.Flat, row.FlatPct, row.SumPct, row.Cum, row.CumPct}
		for j := range got {
			if got[j] != want[i][j] {
				t.Errorf("row %d: %v, pprof %v", i, got, want[i])
				break
			}
		}
		if name := want[i][5]; renamed.MatchString(name) == (row.Name == name) {
			t.Errorf("row %d: %q for pprof's %q", i, row.Name, name)
		}
	}
	if !strings.Contains(r.Text, "work (In[2])") {
		t.Errorf("the cell's function is not under its cell name:\n%s", r.Text)
	}
	flat, err := Top(p, 3, true, 2)
	if err != nil || len(flat.Rows) != 2 || flat.Rows[0].Flat < flat.Rows[1].Flat && len(flat.Rows[0].Flat) == len(flat.Rows[1].Flat) {
		t.Errorf("-s flat -l 2: %+v, %v", flat, err)
	}
}

var decls = []cell.Decl{
	{Kind: cell.VarDecl, Name: "sink", Cell: 1, Line: 1, Source: "var sink int"},
	{Kind: cell.FuncDecl, Name: "spin", Cell: 2, Line: 1, Source: "//go:noinline\nfunc spin(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i * i % 7\n\t}\n\treturn s\n}"},
}

func TestRunEndToEnd(t *testing.T) {
	ws := magicstest.Workspace(t)
	pdir := t.TempDir()
	t.Setenv(profiles.DirEnv, pdir)
	pub := &kerneltest.Publisher{}
	env := magics.Env{Decls: decls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	call := magics.Call{Magic: cell.Magic{Name: "prun", Args: "-l 2 --duration 300ms sink = spin(1000000)", Line: 1}, Count: 5}
	if _, err := New().Run(context.Background(), call, env); err != nil {
		t.Fatal(err)
	}
	d := pub.Displays()
	if len(d) != 1 {
		t.Fatalf("%d displays", len(d))
	}
	text, page := d[0]["text/plain"].(string), d[0]["text/html"].(string)
	t.Log("\n" + text)
	for _, want := range []string{"File: In[5]", "flat  flat%   sum%        cum   cum%", "spin (In[2])", "In[5]", "CPU profile: " + pdir, "perfnb.cell5.prun.cpu."} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if n := strings.Count(page, "<tr><td"); n != 2 {
		t.Errorf("HTML has %d rows, want -l 2", n)
	}
	for _, want := range []string{"spin (In[2])", "<th", "go tool pprof -http=:"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// Sorted by cum: the figures of the cum% column never grow.
	r := regexp.MustCompile(`(?m)^\s*\S+\s+\S+%\s+\S+%\s+\S+\s+(\S+)%\s+`)
	prev := 101.0
	for _, m := range r.FindAllStringSubmatch(text, -1) {
		var v float64
		if _, err := fmt.Sscan(m[1], &v); err == nil {
			if v > prev {
				t.Errorf("cum%% %v after %v: not sorted by cum", v, prev)
			}
			prev = v
		}
	}
	_, err := New().Run(context.Background(), magics.Call{Magic: cell.Magic{Name: "prun", Args: "--duration 50ms os.Exit(0)", Line: 1}, Count: 6}, env)
	var ke *protocol.Error
	if !errors.As(err, &ke) || ke.Name != "Exit" {
		t.Errorf("os.Exit(0): %v, want an Exit error", err)
	}
}
