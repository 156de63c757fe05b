package browsertest_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/magics/internal/browsertest"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runtime/cell"
)

// longLine is a source line wider than any table could show unwrapped.
const longLine = "\ts := 0 // the sum of i*i%7 for i below n, which the compiler keeps in a register, " +
	"and whose line is long enough to wrap in any table that fits a notebook"

// scaleneOutput is %scalene's bundle for the profiles in scalene's
// testdata (work(3e5), work(1e5) and alloc() of testdata/cell_test.go.txt),
// with a long line in work.
func scaleneOutput(t *testing.T) browsertest.Output {
	t.Helper()
	decls := []cell.Decl{
		{Kind: cell.FuncDecl, Name: "work", Cell: 2, Line: 1, Source: "func work(n int) int {\n" + longLine + "\n\tfor i := 0; i < n; i++ {\n\t\ts += i * i % 7\n\t}\n\treturn s\n}"},
		{Kind: cell.FuncDecl, Name: "alloc", Cell: 2, Line: 9, Source: "func alloc() {\n\tfor i := 0; i < 1000; i++ {\n\t\tb := make([]byte, 1024)\n\t\tsink = b\n\t}\n}"},
	}
	r := &scalene.Result{Cell: 3, Sources: scalene.NewSources(3, "work(300000)\nwork(100000)\nalloc()\n", 1, decls), Executions: 1,
		CPUPath: "/home/me/pprof/perfnb.cell3.cpu.20261206-120000.pb.gz", MemPath: "/home/me/pprof/perfnb.cell3.mem.20261206-120000.pb.gz"}
	cpu, err := profiles.Read("../../scalene/testdata/cpu.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := profiles.Read("../../scalene/testdata/mem.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	r.CPU, r.CPUSetUp = profiles.Split(cpu)
	r.Mem, r.MemSetUp = profiles.Split(mem)
	b, err := r.Render(scalene.RenderOptions{Table: scalene.TableOptions{Threshold: 1}, FlameGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	return browsertest.Output{"text/plain": b["text/plain"].(string), "text/html": b["text/html"].(string)}
}

var env = record.Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Build: map[string]string{"GOAMD64": "v1"},
	CPU: "Intel(R) Xeon(R) Processor", GOMAXPROCS: 2, NumCPU: 2, LoadAvg: []float64{0.4}, Perfnb: "0.1.0"}

// timeitOutputs are a %%timeit comparison of three variants, one not
// significantly slower, and a %timeit in a cell of several.
func timeitOutputs() []browsertest.Output {
	variant := func(label string, mean float64, spread ...float64) *timeit.Result {
		r := &timeit.Result{Label: label, Loops: 20000, Repeat: 7, Precision: 3, Clock: "wall", BytesPerOp: 2048, AllocsPerOp: 3,
			CompileTime: 0.7, Environment: env}
		for _, s := range spread {
			r.Timings = append(r.Timings, mean*s)
		}
		r.Average, r.Median, r.MedianLo, r.MedianHi, r.Best, r.Worst = mean, mean, 0.99*mean, 1.01*mean, 0.98*mean, 1.02*mean
		r.Stdev = 0.01 * mean
		return r
	}
	spread := []float64{0.98, 1, 1.02, 1, 0.99, 1.01, 1}
	c := &timeit.Comparison{Variants: []*timeit.Result{variant("builder", 7.12e-6, spread...),
		variant("join", 7.2e-6, 1.02, 0.97, 1.01, 0.99, 1, 1.03, 0.98), variant("plus", 991e-6, spread...)}}
	one := variant("", 289e-6, spread...)
	return []browsertest.Output{{"text/plain": c.Text(), "text/html": c.HTML()}, {"text/plain": one.Text(), "text/html": one.HTML()}}
}

func memitOutput() browsertest.Output {
	r := &memit.Result{Peak: 80 << 20, Increment: 64 << 20, Baseline: 16 << 20, HeapPeak: 66 << 20, HeapBaseline: 2 << 20,
		Allocated: 64 << 20, Objects: 12, GCCycles: 2, GCPause: 120 * time.Microsecond, Wall: 41 * time.Millisecond,
		Method: "hwm", Repeat: 1, Environment: env}
	return browsertest.Output{"text/plain": r.String(), "text/html": r.HTML()}
}

// place is where a notebook is read.
type place struct {
	name     string
	url      string
	notebook bool // Jupyter Notebook's page, rather than an exported one
	styled   bool // inline styles and scripts survive
}

// TestOutputsWhereNotebooksAreRead opens a notebook holding the outputs of
// %scalene, %%timeit variants, %timeit and %memit in headless Chromium,
// where notebooks are read: Jupyter Notebook 6 trusted (its own outputs)
// and untrusted (a notebook received: its sanitizer strips inline styles
// and scripts), and nbconvert's HTML export, with and without its
// sanitizer. In each it checks, from the layout the browser computed and
// from the pixels of a screenshot, that every table fits the output
// area, that the source lines keep their indentation and their left
// alignment in a monospace font, that the bars show, and that IPython's
// lines are there. PERFNB_SHOTS=dir keeps the screenshots.
func TestOutputsWhereNotebooksAreRead(t *testing.T) {
	browsertest.RequireChromium(t)
	j := browsertest.NewJupyter(t)
	tio := timeitOutputs()
	nb := browsertest.NotebookJSON(
		browsertest.Cell{Source: "%%scalene\nwork(300000)\nwork(100000)\nalloc()", Count: 3, Outputs: []browsertest.Output{scaleneOutput(t)}},
		browsertest.Cell{Source: "%%timeit\nbuilder: buildWords(words)\njoin: joinWords(words)\nplus: plusWords(words)", Count: 4, Outputs: tio[:1]},
		browsertest.Cell{Source: "%timeit lookupSorted(idx, keys)", Count: 5, Outputs: tio[1:]},
		browsertest.Cell{Source: "%memit s := make([]byte, 64<<20)", Count: 6, Outputs: []browsertest.Output{memitOutput()}},
	)
	trusted := j.Save("outputs.ipynb", nb, true)
	j.Save("received.ipynb", browsertest.Untrusted(t, nb), false)
	exported, sanitized := j.NBConvert(trusted, false), j.NBConvert(trusted, true)
	srv := j.Serve()
	// The default notebook width for a desktop window; tall enough to
	// hold every output (a screenshot of an element holds only what the
	// notebook's scrolling panel shows).
	b := browsertest.Start(t, 1280, 2400)
	for _, pl := range []place{
		{"Jupyter Notebook, trusted", srv.URL("outputs.ipynb"), true, true},
		{"Jupyter Notebook, untrusted", srv.URL("received.ipynb"), true, false},
		{"nbconvert", "file://" + exported, false, true},
		{"nbconvert, sanitized", "file://" + sanitized, false, false},
	} {
		t.Run(pl.name, func(t *testing.T) {
			start := time.Now()
			p := b.Open(pl.url)
			defer p.Close()
			if pl.notebook {
				p.WaitFor(browsertest.NotebookReady(4), time.Minute)
			}
			checkPage(t, p, pl)
			t.Logf("%s checked in %v", pl.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// probe measures the page as its reader sees it.
const probe = `(function(){
function area(e){return e.closest('.output_subarea,.jp-OutputArea-output')}
function box(e){var r=e.getBoundingClientRect();return {x:r.left,y:r.top,w:r.width,h:r.height}}
var out={tables:[],rows:[],bars:[],pres:[]};
document.querySelectorAll('table.perfnb-lines,table.perfnb-timeit,.perfnb-memit table').forEach(function(t){
  out.tables.push({cls:t.className||'memit',width:t.getBoundingClientRect().width,scroll:t.scrollWidth,area:area(t).getBoundingClientRect().width,styled:t.style.length>0,styleText:t.getAttribute('style')})});
var st=document.querySelector('.perfnb-scalene');
out.scalene=box(st);
st.querySelectorAll('table.perfnb-lines tbody tr').forEach(function(tr){
  if(tr.cells.length<3)return;
  var td=tr.cells[tr.cells.length-1],code=td.querySelector('code');if(!code)return;
  var text=code.textContent,n=0;while(n<text.length&&(text[n]==='\u00a0'||text[n]===' '))n++;
  var node=code.firstChild;while(node&&node.nodeType!==3)node=node.firstChild;
  var rg=document.createRange();rg.setStart(node,n);rg.setEnd(node,n+1);var first=rg.getClientRects()[0];
  var rg2=document.createRange();rg2.setStart(node,0);rg2.setEnd(node,Math.max(n,1));
  out.rows.push({label:tr.cells[0].textContent,indent:n,x:first.left,cell:td.getBoundingClientRect().left,
    indentWidth:n?rg2.getBoundingClientRect().width:0,font:getComputedStyle(code).fontFamily,text:text.trim().slice(0,40)})});
st.querySelectorAll('table.perfnb-lines font').forEach(function(f){var b=box(f);b.x-=out.scalene.x;b.y-=out.scalene.y;b.color=f.getAttribute('color');if(b.w>0)out.bars.push(b)});
document.querySelectorAll('.perfnb-timeit pre,.perfnb-memit pre').forEach(function(p){out.pres.push(p.textContent)});
out.labels=Array.prototype.map.call(document.querySelectorAll('table.perfnb-timeit td div[align=left]'),function(d){
  return {align:getComputedStyle(d).textAlign,x:d.getBoundingClientRect().left-d.parentElement.getBoundingClientRect().left}});
out.frames=document.querySelectorAll('.perfnb-flame iframe').length;
out.staticShown=Array.prototype.filter.call(document.querySelectorAll('img.perfnb-flame-static'),function(i){return i.complete&&i.naturalWidth>0&&i.getBoundingClientRect().height>0}).length;
return JSON.stringify(out)})()`

// measured is what the probe returns.
type measured struct {
	Tables []struct {
		Cls                 string
		Width, Scroll, Area float64
		Styled              bool
		StyleText           string
	}
	Rows []struct {
		Label                string
		Indent               int
		X, Cell, IndentWidth float64
		Font, Text           string
	}
	Bars []struct {
		X, Y, W, H float64
		Color      string
	}
	Pres   []string
	Labels []struct {
		Align string
		X     float64
	}
	Scalene     struct{ X, Y, W, H float64 }
	Frames      int
	StaticShown int
}

func checkPage(t *testing.T, p *browsertest.Page, pl place) {
	t.Helper()
	var m measured
	p.EvalJSON(probe, &m)
	checkTables(t, m, pl)
	checkSource(t, m)
	checkText(t, m)
	png := p.ScreenshotElement(`document.querySelector('.perfnb-scalene')`)
	if dir := os.Getenv("PERFNB_SHOTS"); dir != "" {
		name := strings.NewReplacer(" ", "-", ",", "").Replace(pl.name) + ".png"
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkBars(t, m, png)
	// pprof's interactive flame graph where scripts run; the static one
	// where they do not, except where the sanitizer drops SVG images too.
	switch {
	case pl.styled && (m.Frames != 2 || m.StaticShown != 0):
		t.Errorf("%d pprof frames and %d static flame graphs shown, want pprof's 2 in place of the static ones", m.Frames, m.StaticShown)
	case !pl.styled && m.Frames != 0:
		t.Errorf("%d pprof frames where scripts are stripped", m.Frames)
	case pl.notebook && !pl.styled && m.StaticShown != 2:
		t.Errorf("%d static flame graphs shown in the untrusted notebook, want 2", m.StaticShown)
	}
}

// checkTables checks that every table fits the output area, and that the
// page is the kind of place it should be (styles kept or stripped).
func checkTables(t *testing.T, m measured, pl place) {
	t.Helper()
	if len(m.Tables) != 4 {
		t.Fatalf("%d tables, want 4 (scalene's, two of timeit's, memit's)", len(m.Tables))
	}
	for _, tb := range m.Tables {
		t.Logf("table %s: %.0f px (content %.0f px) in an output area of %.0f px", tb.Cls, tb.Width, tb.Scroll, tb.Area)
		if tb.Width > tb.Area+0.5 || tb.Scroll > tb.Area+0.5 {
			t.Errorf("table %s is %.0f px wide (content %.0f px), wider than the output area's %.0f px", tb.Cls, tb.Width, tb.Scroll, tb.Area)
		}
		if tb.Styled != pl.styled {
			t.Errorf("table %s has styles: %v (%q), want %v here", tb.Cls, tb.Styled, tb.StyleText, pl.styled)
		}
	}
}

// checkSource checks that the source lines are monospace, left-aligned
// and indented: each line's first character is as far right of its cell's
// edge as its indentation is wide, the same for every line.
func checkSource(t *testing.T, m measured) {
	t.Helper()
	if len(m.Rows) < 10 {
		t.Fatalf("%d source lines, want the body's and the declarations'", len(m.Rows))
	}
	var offsets []float64
	indented := 0
	for _, r := range m.Rows {
		if !strings.Contains(strings.ToLower(r.Font), "mono") && !strings.Contains(r.Font, "Menlo") && !strings.Contains(r.Font, "Consolas") {
			t.Errorf("line %s is in %s, not a monospace font", r.Label, r.Font)
		}
		charW := 0.0
		if r.Indent > 0 {
			indented++
			charW = r.IndentWidth / float64(r.Indent)
			if charW < 4 {
				t.Errorf("line %s: %d characters of indentation take %.1f px", r.Label, r.Indent, r.IndentWidth)
			}
		}
		offsets = append(offsets, r.X-r.Cell-r.IndentWidth)
	}
	if indented < 5 {
		t.Errorf("%d indented lines, want the declarations' (the indentation is lost)", indented)
	}
	lo, hi := offsets[0], offsets[0]
	for _, o := range offsets {
		lo, hi = min(lo, o), max(hi, o)
	}
	if hi-lo > 1 || lo < 0 || hi > 16 {
		t.Errorf("source lines start %.1f to %.1f px right of their cells' edges after their indentation: not left-aligned", lo, hi)
		for _, r := range m.Rows {
			t.Logf("  %s: indent %d (%.1f px), first character at +%.1f px: %q", r.Label, r.Indent, r.IndentWidth, r.X-r.Cell, r.Text)
		}
	}
}

// checkText checks IPython's and memory_profiler's lines, and the labels
// of the variants.
func checkText(t *testing.T, m measured) {
	t.Helper()
	all := strings.Join(m.Pres, "\n")
	for _, want := range []string{"builder: 7.12 µs ± 71.2 ns per loop (mean ± std. dev. of 7 runs, 20,000 loops each)",
		"fastest: builder", "join:    ×1.01 slower than builder, ~ not significant", "289 µs ± 2.89 µs per loop",
		"peak memory: 80.00 MiB, increment: 64.00 MiB"} {
		if !strings.Contains(all, want) {
			t.Errorf("the outputs' text lacks %q:\n%s", want, all)
		}
	}
	for _, l := range m.Labels {
		if !strings.Contains(l.Align, "left") || l.X > 16 {
			t.Errorf("a label of timeit's table is aligned %s, %.0f px from its cell's edge", l.Align, l.X)
		}
	}
}

// checkBars checks, in the screenshot of %scalene's output, that each bar
// the page lays out is drawn in its colour.
func checkBars(t *testing.T, m measured, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Bars) < 4 {
		t.Fatalf("%d bars laid out, want one per line with samples", len(m.Bars))
	}
	for _, bar := range m.Bars {
		var want [3]int
		fmt.Sscanf(bar.Color, "#%02x%02x%02x", &want[0], &want[1], &want[2])
		if n := colored(img, bar.X, bar.Y, bar.W, bar.H, want); n < int(bar.W*bar.H)/4 {
			t.Errorf("a bar of %.0f×%.0f px at (%.0f, %.0f) has %d pixels of its colour %s in the screenshot", bar.W, bar.H, bar.X, bar.Y, n, bar.Color)
		}
	}
}

// colored counts the pixels of img in the box near the colour want.
func colored(img image.Image, x, y, w, h float64, want [3]int) int {
	n := 0
	for py := int(y); py < int(y+h); py++ {
		for px := int(x); px < int(x+w); px++ {
			r, g, b, _ := img.At(px, py).RGBA()
			d := abs(int(r>>8)-want[0]) + abs(int(g>>8)-want[1]) + abs(int(b>>8)-want[2])
			if d < 60 {
				n++
			}
		}
	}
	return n
}

func abs(x int) int { return max(x, -x) }
