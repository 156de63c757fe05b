package scalene

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// whyDecls are earlier cells: spin is small enough to inline, big is
// not, and sink makes a value escape.
var whyDecls = []cell.Decl{
	{Kind: cell.VarDecl, Name: "sink", Cell: 1, Line: 1, Source: "var sink any"},
	{Kind: cell.FuncDecl, Name: "spin", Cell: 2, Line: 1, Source: "func spin(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i * i % 7\n\t}\n\treturn s\n}"},
	{Kind: cell.FuncDecl, Name: "big", Cell: 3, Line: 1, Source: "func big(xs []int) int {\n\tt := 0\n\tfor i := 0; i < 10; i++ {\n" +
		"\t\tfor j := range xs { t += xs[j] * i; if t > 1000 { t -= 3 } else { t += 2 }; if t%5 == 0 { t *= 2 } }\n" +
		"\t\tswitch t { case 1: t++; case 2: t--; case 3: t += 4; case 4: t -= 7 }\n" +
		"\t\tfor k := 0; k < t%10; k++ { t ^= k << 2; t += spin(k) }\n\t}\n\treturn t\n}"},
	{Kind: cell.FuncDecl, Name: "heavy", Cell: 4, Line: 1, Source: "func heavy() int { return spin(3000000) }"},
	{Kind: cell.FuncDecl, Name: "light", Cell: 4, Line: 2, Source: "func light() int { return spin(1000000) }"},
}

// runScalene runs the magic on a cell body and returns its display.
func runScalene(t *testing.T, args, body string, count int) (text, page string) {
	t.Helper()
	ws := magicstest.Workspace(t)
	t.Setenv(profiles.DirEnv, t.TempDir())
	pub := &kerneltest.Publisher{}
	env := magics.Env{Decls: whyDecls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	call := magics.Call{Magic: cell.Magic{Name: "scalene", Cell: true, Args: args, Body: body, Line: 1, BodyLine: 2}, Count: count}
	if _, err := New().Run(context.Background(), call, env); err != nil {
		t.Fatal(err)
	}
	if len(pub.Displays()) != 1 {
		t.Fatalf("%d displays", len(pub.Displays()))
	}
	d := pub.Displays()[0]
	return d["text/plain"].(string), d["text/html"].(string)
}

// tableLine returns the text table's row for label.
func tableLine(t *testing.T, text, label string) string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == label && strings.Contains(l, "│") {
			return l
		}
	}
	t.Fatalf("no row %s in\n%s", label, text)
	return ""
}

// cellOf returns, trimmed, the cell of the text table's row for label in
// the column headed head ("Total time", "Compiler"): the table shows only
// the columns that carry figures, so their places vary. "" when the
// table has no such column.
func cellOf(t *testing.T, text, label, head string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i := 2; i < len(lines); i++ {
		if !strings.Contains(lines[i], "─┼─") {
			continue
		}
		top, bottom := strings.Split(lines[i-2], "│"), strings.Split(lines[i-1], "│")
		for j := range min(len(top), len(bottom)) {
			if strings.TrimSpace(strings.TrimSpace(top[j])+" "+strings.TrimSpace(bottom[j])) == head {
				return strings.TrimSpace(strings.Split(tableLine(t, text, label), "│")[j])
			}
		}
		return ""
	}
	t.Fatalf("no table in\n%s", text)
	return ""
}

// totalPercent reads the Total time column of the text table's row for
// label: 42 for "42%", 0 when blank.
func totalPercent(t *testing.T, text, label string) int {
	t.Helper()
	p, _ := strconv.Atoi(strings.TrimSuffix(cellOf(t, text, label, "Total time"), "%"))
	return p
}

// TestDecisionsEndToEnd profiles a cell with a known escape, an inlined
// call, a call that cannot be inlined and a surviving bounds check, and
// finds each decision on its line, in text and in HTML.
func TestDecisionsEndToEnd(t *testing.T) {
	body := "x := []int{1, 2, 3}\n" + // 2: x moved to the heap
		"sink = &x\n" + // 3
		"y := spin(10) + big(x)\n" + // 4: spin inlined, big not
		"_ = x[y%3]\n" // 5: a bounds check
	text, page := runScalene(t, "--no-flamegraph --duration 200ms", body, 6)
	t.Log("\n" + text)
	tests := []struct {
		label, marker, words string
	}{
		{"2", "H", "In[6]:2: moved to heap: x"},
		{"4", "I", "In[6]:4: inlining call to spin"},
		{"4", "N", "In[6]:4: call to big not inlined: function too complex: cost"},
		{"5", "B", "In[6]:5: bounds check: Found IsInBounds"},
		{"In[3]:1", "N", "In[3]:1: cannot inline big: function too complex: cost"},
	}
	for _, tt := range tests {
		if marks := cellOf(t, text, tt.label, "Compiler"); !strings.Contains(marks, tt.marker) {
			t.Errorf("line %s: compiler column %q lacks %s", tt.label, marks, tt.marker)
		}
		if !strings.Contains(text, tt.words) {
			t.Errorf("text lacks %q", tt.words)
		}
	}
	if !strings.Contains(text, "Compiler: I a call inlined here, N function cannot be inlined") {
		t.Error("text lacks the legend")
	}
	// In HTML, the full words are on the marker, for hovering.
	for _, want := range []string{`moved to heap: x`, `title="x escapes to heap`, `call to big not inlined: function too complex: cost`} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// --reduced-profile hides the decisions of lines without samples
	// (big's declaration line, unless a sample landed in its prologue).
	text, _ = runScalene(t, "--no-flamegraph --duration 200ms --reduced-profile --cpu-percent-threshold 0", body, 6)
	sampled := strings.Contains(text, "In[3]:1 │") && totalPercent(t, text, "In[3]:1") > 0
	if strings.Contains(text, "In[3]:1: cannot inline") && !sampled {
		t.Errorf("--reduced-profile shows a decision of a line without samples:\n%s", text)
	}
}

// TestSelfTotalEndToEnd profiles a cell whose two lines call functions
// doing 3:1 work: their own time is nil, their total time splits the
// cell. The split itself is measured by scripts/bench-scalene.
func TestSelfTotalEndToEnd(t *testing.T) {
	text, _ := runScalene(t, "--cpu-only --no-flamegraph --duration 500ms", "sink = heavy()\nsink = light()\n", 7)
	t.Log("\n" + text)
	h, l := totalPercent(t, text, "2"), totalPercent(t, text, "3")
	if h <= l || l == 0 || h+l < 50 {
		t.Errorf("total time of the heavy line %d%%, of the light one %d%%: want heavy > light > 0, together most of the time", h, l)
	}
	if self := cellOf(t, text, "2", "Self Go"); self != "" && self != "1%" {
		t.Errorf("the heavy line's own time is %q; its work is in spin", self)
	}
	for _, want := range []string{"│ Total │", "│  time │", "Self: the line's own work"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

// TestVariantsEndToEnd profiles two labelled variants: two tables, the
// difference flame graph, a profile for each.
func TestVariantsEndToEnd(t *testing.T) {
	text, page := runScalene(t, "--cpu-only --duration 300ms", "fast: sink = light()\nslow: sink = heavy()\n", 8)
	t.Log("\n" + text)
	for _, want := range []string{"── fast ──", "── slow ──", "Time per execution in the profiled runs: fast ", "× fast)",
		"fast: CPU profile: ", "slow: CPU profile: ", "perfnb.cell8.fast.cpu.", "perfnb.cell8.slow.cpu."} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for _, want := range []string{`class="perfnb-scalene-variants"`, "CPU time per execution, slow against fast", "srcdoc=", "data:image/svg+xml;base64,", "Time per execution in the profiled runs: fast "} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="perfnb-scalene-variant"`); n != 2 {
		t.Errorf("%d variant tables, want 2", n)
	}
}

// TestAsmEndToEnd disassembles the hottest line.
func TestAsmEndToEnd(t *testing.T) {
	text, page := runScalene(t, "--cpu-only --no-flamegraph --duration 300ms --asm-lines 1", "sink = heavy()\n", 9)
	t.Log("\n" + text)
	if !strings.Contains(text, "Assembly of the 1 hottest lines") || !strings.Contains(text, "In[2]:") {
		t.Fatalf("no assembly of spin's lines:\n%s", text)
	}
	i := strings.Index(text, "Assembly of")
	if !strings.Contains(text[i:], ": ") || strings.Contains(text[i:], "no instructions found") {
		t.Errorf("no instructions:\n%s", text[i:])
	}
	if !strings.Contains(page, `class="perfnb-asm"`) {
		t.Error("HTML lacks the assembly")
	}
}

func TestRunHostile(t *testing.T) {
	ws := magicstest.Workspace(t)
	t.Setenv(profiles.DirEnv, t.TempDir())
	env := magics.Env{Decls: whyDecls, Publisher: &kerneltest.Publisher{}, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	dir := t.TempDir()
	tests := []struct {
		name, args, want, words string
	}{
		{"os.Exit(0)", "--duration 50ms os.Exit(0)", "Exit", "os.Exit(0)"},
		{"os.Exit(0) memory only", "--memory-only os.Exit(0)", "Exit", "os.Exit(0)"},
		{"outfile directory", "--cpu-only --duration 50ms --outfile " + dir + " sink = 1", "ScaleneError", "not a regular file"},
		{"outfile device", "--cpu-only --duration 50ms --outfile /dev/null sink = 1", "ScaleneError", "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Run(context.Background(), magics.Call{Magic: cell.Magic{Name: "scalene", Args: tt.args, Line: 1}, Count: 2}, env)
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Name != tt.want || !strings.Contains(ke.Value, tt.words) {
				t.Fatalf("error = %#v, want %s saying %q", err, tt.want, tt.words)
			}
		})
	}
}
