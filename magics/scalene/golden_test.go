package scalene

import (
	"flag"
	"github.com/perfnb/perfnb/runtime/cell"
	"testing"

	"github.com/perfnb/perfnb/magics/magicstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenDecisions are decisions on the lines of tableFixture, one of
// them with characters HTML must escape.
const goldenDecisions = "In[3]:1: cannot inline work: function too complex: cost 95 exceeds budget 80\n" +
	"In[5]:1: make([]byte, 1 << 20) escapes to heap\n" +
	"In[3]:4: Found IsInBounds\nIn[3]:4: Found IsInBounds\n" +
	"something the parser does not know\n"

// TestTableGolden pins the line table's text and HTML, with the
// compiler's decisions and their note.
func TestTableGolden(t *testing.T) {
	tb := tableFixture(t, TableOptions{Threshold: 1})
	tb.Decisions = ParseCompilerText(goldenDecisions).withCallSites(tb.Rows)
	magicstest.Golden(t, "table.txt", tb.Text(), *update)
	magicstest.Golden(t, "table.html", tb.HTML(), *update)
}

// TestAssemblyGolden pins the assembly section's HTML and text.
func TestAssemblyGolden(t *testing.T) {
	a := &Assembly{Binary: "/tmp/ws/cell-3.test", Lines: []AsmLine{
		{Key: cell.Pos{Cell: 2, Line: 4}, Source: "\t\ts += i * i % 7", Self: "71%", Instrs: []AsmInstr{
			{Flat: "20ms", Addr: "52e910", Text: "sarq $63, %rbx"}, {Flat: ".", Addr: "52e924", Text: "imulq %rsi"}}, Omitted: 3},
		{Key: cell.Pos{Cell: 5, Line: 2}, Source: "x := a[i] < b", Self: "<1%"},
	}}
	magicstest.Golden(t, "asm.txt", a.Text(), *update)
	magicstest.Golden(t, "asm.html", string(a.HTML()), *update)
}

// TestParseDisasm reads pprof's disasm report: locations on the
// instruction's line, on a line of their own before a long instruction,
// and carried over to the following instructions.
func TestParseDisasm(t *testing.T) {
	out := "Total: 310ms\nROUTINE ======================== x.spin\n" +
		"     220ms      300ms (flat, cum) 96.77% of Total\n" +
		"         .          .     52e900: xorl	%ecx, %ecx                         ;x.spin In[2]:3\n" +
		"         .          .     52e902: xorl	%edx, %edx\n" +
		"      20ms       20ms     52e910: sarq	$63, %rbx                          ;x.spin In[2]:4\n" +
		"                                                                                  ;x.spin In[2]:3\n" +
		"      10ms       10ms     52e917: movabsq	$5270498306774157605, %rax # imm = 0x4924924924924925\n" +
		"         .          .     52e947: movq	%rdx, %rax                         ;x.spin cell_test.go:6\n"
	got := parseDisasm(out)
	want := []struct {
		addr, flat string
		key        cell.Pos
	}{{"52e900", ".", cell.Pos{Cell: 2, Line: 3}}, {"52e902", ".", cell.Pos{Cell: 2, Line: 3}}, {"52e910", "20ms", cell.Pos{Cell: 2, Line: 4}},
		{"52e917", "10ms", cell.Pos{Cell: 2, Line: 3}}, {"52e947", ".", cell.Pos{}}}
	if len(got) != len(want) {
		t.Fatalf("%d instructions: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].Addr != w.addr || got[i].Flat != w.flat || got[i].key != w.key {
			t.Errorf("instruction %d: %+v, want %+v", i, got[i], w)
		}
	}
	if got[0].Text != "xorl %ecx, %ecx" {
		t.Errorf("text %q", got[0].Text)
	}
}
