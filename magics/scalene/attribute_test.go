package scalene

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/runtime/cell"
)

// fakeProfile builds profiles by hand: functions, locations with inlined
// lines, and samples given as stacks, leaf first.
type fakeProfile struct {
	p     *profile.Profile
	funcs map[string]*profile.Function
}

func newFakeProfile(types ...string) *fakeProfile {
	p := &profile.Profile{}
	for _, t := range types {
		unit := "count"
		switch t {
		case "cpu":
			unit = "nanoseconds"
		case "alloc_space":
			unit = "bytes"
		}
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: t, Unit: unit})
	}
	return &fakeProfile{p: p, funcs: map[string]*profile.Function{}}
}

func (f *fakeProfile) fn(name, file string) *profile.Function {
	fn := f.funcs[name+"@"+file]
	if fn == nil {
		fn = &profile.Function{ID: uint64(len(f.p.Function) + 1), Name: name, Filename: file}
		f.funcs[name+"@"+file] = fn
		f.p.Function = append(f.p.Function, fn)
	}
	return fn
}

// frame is one inlined line: function name, file, line.
type frame struct {
	name, file string
	line       int64
}

// sample adds a sample whose stack is locs, leaf first; each location is a
// list of frames, innermost inlined first.
func (f *fakeProfile) sample(values []int64, locs ...[]frame) {
	s := &profile.Sample{Value: values}
	for _, fr := range locs {
		loc := &profile.Location{ID: uint64(len(f.p.Location) + 1)}
		for _, l := range fr {
			loc.Line = append(loc.Line, profile.Line{Function: f.fn(l.name, l.file), Line: l.line})
		}
		f.p.Location = append(f.p.Location, loc)
		s.Location = append(s.Location, loc)
	}
	f.p.Sample = append(f.p.Sample, s)
}

var (
	benchFrame = frame{"main.BenchmarkScalene", "In[5]", 0}
	testingRun = frame{"testing.(*B).runN", "/usr/local/go/src/testing/benchmark.go", 200}
	gcWorker   = frame{"runtime.gcBgMarkWorker", "/usr/local/go/src/runtime/mgc.go", 1400}
	mallocgc   = frame{"runtime.mallocgc", "/usr/local/go/src/runtime/malloc.go", 1000}
	futex      = frame{"runtime.futex", "/usr/local/go/src/runtime/sys_linux_amd64.s", 557}
	sortFrame  = frame{"sort.Ints", "/usr/local/go/src/sort/sort.go", 30}
)

func at(f frame, line int64) frame { f.line = line; return f }

func TestClassify(t *testing.T) {
	tests := []struct {
		name, file string
		want       Category
	}{
		{"main.work", "In[3]", CatGo},
		{"sort.Ints", "/usr/local/go/src/sort/sort.go", CatGo},
		{"github.com/x/y.F", "/root/go/pkg/mod/github.com/x/y/y.go", CatGo},
		{"runtime.mallocgc", "malloc.go", CatRuntime},
		{"runtime.memmove", "memmove_amd64.s", CatRuntime},
		{"runtime.gcBgMarkWorker", "mgc.go", CatRuntime},
		{"internal/runtime/atomic.(*Uint32).Load", "types.go", CatRuntime},
		{"runtime.futex", "sys_linux_amd64.s", CatSystem},
		{"runtime.madvise", "sys_linux_amd64.s", CatSystem},
		{"syscall.Syscall", "syscall_linux.go", CatSystem},
		{"internal/runtime/syscall.Syscall6", "asm_linux_amd64.s", CatSystem},
		{"golang.org/x/sys/unix.Syscall", "x.go", CatSystem},
		// A user function named like the runtime but declared in a cell is
		// the cell's code.
		{"main.runtimeish", "In[2]", CatGo},
	}
	for _, tt := range tests {
		if got := Classify(&profile.Function{Name: tt.name, Filename: tt.file}); got != tt.want {
			t.Errorf("Classify(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Classify(nil); got != CatRuntime {
		t.Errorf("Classify(nil) = %v, want runtime", got)
	}
}

// cpuFixture: current cell In[5] calls work (declared in In[3] lines 1-5)
// on line 2 and sorts on line 3.
func cpuFixture() *profile.Profile {
	f := newFakeProfile("samples", "cpu")
	ms := int64(1e7) // one sample at 100 Hz
	work := frame{"main.work", "In[3]", 0}
	// 30 samples in work's loop (In[3]:3), called from In[5]:2.
	for range 30 {
		f.sample([]int64{1, ms}, []frame{at(work, 3)}, []frame{at(benchFrame, 2)}, []frame{testingRun})
	}
	// 10 samples: work inlined into the benchmark: one location holding
	// both lines, innermost first.
	for range 10 {
		f.sample([]int64{1, ms}, []frame{at(work, 4), at(benchFrame, 2)}, []frame{testingRun})
	}
	// 8 samples in mallocgc called from In[5]:2 directly.
	for range 8 {
		f.sample([]int64{1, ms}, []frame{mallocgc}, []frame{at(benchFrame, 2)})
	}
	// 2 samples in futex under mallocgc from work (In[3]:4).
	for range 2 {
		f.sample([]int64{1, ms}, []frame{futex}, []frame{mallocgc}, []frame{at(work, 4)}, []frame{at(benchFrame, 2)})
	}
	// 35 samples in sort.Ints called from In[5]:3: library code is Go.
	for range 35 {
		f.sample([]int64{1, ms}, []frame{sortFrame}, []frame{at(benchFrame, 3)})
	}
	// 5 samples whose leaf is asyncPreempt's entry, injected into In[5]:3:
	// the time is the line's own.
	preempt := frame{"runtime.asyncPreempt", "/usr/local/go/src/runtime/preempt_amd64.s", 9}
	for range 5 {
		f.sample([]int64{1, ms}, []frame{preempt}, []frame{at(benchFrame, 3)})
	}
	// 10 samples in the collector's background worker: no cell frame.
	for range 10 {
		f.sample([]int64{1, ms}, []frame{gcWorker})
	}
	return f.p
}

func TestAddCPU(t *testing.T) {
	att := NewAttribution()
	if err := att.AddCPU(cpuFixture()); err != nil {
		t.Fatal(err)
	}
	ms := int64(1e7)
	want := map[cell.Pos][3]int64{
		{Cell: 3, Line: 3}: {30 * ms, 0, 0},
		{Cell: 3, Line: 4}: {10 * ms, 0, 2 * ms},
		{Cell: 5, Line: 2}: {0, 8 * ms, 0},
		{Cell: 5, Line: 3}: {40 * ms, 0, 0},
	}
	if len(att.Lines) != len(want) {
		t.Errorf("got %d lines, want %d: %v", len(att.Lines), len(want), att.Lines)
	}
	for k, w := range want {
		got := att.Lines[k]
		if got == nil {
			t.Errorf("%v: no samples", k)
			continue
		}
		if got.CPU != w {
			t.Errorf("%v: CPU = %v, want %v", k, got.CPU, w)
		}
	}
	if att.Outside.CPU != [3]int64{0, 10 * ms, 0} {
		t.Errorf("outside = %v, want 10 samples of runtime", att.Outside.CPU)
	}
	if got := att.Total.CPUSelf(); got != 100*ms {
		t.Errorf("total = %d, want %d", got, 100*ms)
	}
}

func TestAddAlloc(t *testing.T) {
	f := newFakeProfile("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")
	fill := frame{"main.fill", "In[2]", 0}
	// 1000 allocations of 1 KiB on In[2]:4, each its own sample as with
	// MemProfileRate = 1, reached through mallocgc.
	for range 1000 {
		f.sample([]int64{1, 1024, 0, 0}, []frame{mallocgc}, []frame{at(fill, 4)}, []frame{at(benchFrame, 1)})
	}
	f.sample([]int64{3, 96, 0, 0}, []frame{at(benchFrame, 2)})
	f.sample([]int64{7, 700, 7, 700}, []frame{testingRun})
	att := NewAttribution()
	if err := att.AddAlloc(f.p); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		k              cell.Pos
		bytes, objects int64
	}{
		{cell.Pos{Cell: 2, Line: 4}, 1024000, 1000},
		{cell.Pos{Cell: 5, Line: 2}, 96, 3},
	}
	for _, tt := range tests {
		got := att.Lines[tt.k]
		if got == nil || got.AllocBytes != tt.bytes || got.AllocObjects != tt.objects {
			t.Errorf("%v = %+v, want %d bytes in %d objects", tt.k, got, tt.bytes, tt.objects)
		}
	}
	if att.Outside.AllocBytes != 700 || att.Total.AllocBytes != 1024000+96+700 {
		t.Errorf("outside %d, total %d bytes", att.Outside.AllocBytes, att.Total.AllocBytes)
	}
	if err := NewAttribution().AddAlloc(cpuFixture()); err == nil {
		t.Error("a CPU profile read as an allocation profile")
	}
}

// TestAttributeRealProfiles reads profiles written by a Go test binary whose
// source had //line In[N] directives (testdata/cell_test.go.txt): work(3e5)
// and work(1e5) on In[3]:1 and :2, alloc() on :3 allocating 1000 × 1 KiB on
// In[2]:11.
func TestAttributeRealProfiles(t *testing.T) {
	att := NewAttribution()
	if err := att.AddCPU(loadProfile(t, "testdata/cpu.pb.gz")); err != nil {
		t.Fatal(err)
	}
	var l1, l2 int64
	for k, s := range att.Lines {
		if k.Cell != 2 && k.Cell != 3 {
			t.Errorf("sample attributed to %v", k)
		}
		_ = s
	}
	// work's own lines are In[2]:3..4; the callers' lines are In[3]:1, :2
	// only when work is not inlined. Check that work's lines hold most time.
	for k, s := range att.Lines {
		if k.Cell == 2 && (k.Line == 3 || k.Line == 4) {
			l1 += s.CPUSelf()
		}
		l2 += s.CPUSelf()
	}
	// The loop allocates a MiB an iteration, so the collector takes much
	// of the rest.
	if l1 == 0 || float64(l1) < 0.35*float64(att.Total.CPUSelf()) {
		t.Errorf("work's loop has %d of %d ns", l1, att.Total.CPUSelf())
	}
	mem := NewAttribution()
	if err := mem.AddAlloc(loadProfile(t, "testdata/mem.pb.gz")); err != nil {
		t.Fatal(err)
	}
	if s := mem.Lines[cell.Pos{Cell: 2, Line: 11}]; s == nil || s.AllocBytes != 1024000 || s.AllocObjects != 1000 {
		t.Errorf("In[2]:11 = %+v, want 1,024,000 bytes in 1,000 objects", s)
	}
}

func TestBodyFunc(t *testing.T) {
	f := newFakeProfile("samples", "cpu")
	gen := frame{"main.BenchmarkScalene", "cell_test.go", 0}
	f.sample([]int64{1, 10}, []frame{at(gen, 3)}, []frame{testingRun})            // body line 3
	f.sample([]int64{1, 20}, []frame{at(benchFrame, 25)}, []frame{testingRun})    // the loop: generated
	f.sample([]int64{1, 40}, []frame{mallocgc}, []frame{at(benchFrame, 4)})       // body line 4
	f.sample([]int64{1, 80}, []frame{{"main.(*T).BenchmarkScalene", "In[5]", 7}}) // a method: its own file
	att := NewAttribution()
	att.Body = &BodyFunc{Name: "BenchmarkScalene", Cell: 5, First: 2, Last: 4}
	if err := att.AddCPU(f.p); err != nil {
		t.Fatal(err)
	}
	want := map[cell.Pos]int64{{Cell: 5, Line: 3}: 10, {Cell: 5, Line: 4}: 40, {Cell: 5, Line: 7}: 80}
	for k, v := range want {
		if s := att.Lines[k]; s == nil || s.CPUSelf() != v {
			t.Errorf("%v = %+v, want %d", k, s, v)
		}
	}
	if len(att.Lines) != len(want) || att.Outside.CPUSelf() != 20 {
		t.Errorf("lines %v, outside %v", att.Lines, att.Outside)
	}
}

func tableFixture(t *testing.T, opts TableOptions) *Table {
	t.Helper()
	att := NewAttribution()
	if err := att.AddCPU(cpuFixture()); err != nil {
		t.Fatal(err)
	}
	att.line(cell.Pos{Cell: 5, Line: 1}).AllocBytes = 2 * 1024000
	att.line(cell.Pos{Cell: 5, Line: 1}).AllocObjects = 2000
	att.Total.AllocBytes += 2 * 1024000
	att.Total.AllocObjects += 2000
	decls := []cell.Decl{
		{Kind: cell.FuncDecl, Name: "work", Cell: 3, Line: 1, Source: "func work(n int) int {\n\ts := 0\n\tfor i := range n {\n\t\ts += i * i\n\t}\n\treturn s\n}"},
		{Kind: cell.FuncDecl, Name: "other", Cell: 4, Line: 1, Source: "func other() {}"},
	}
	src := NewSources(5, "buf := make([]byte, 1<<20)\nwork(1000)\nsort.Ints(xs)\n_ = buf\n", 1, decls)
	return BuildTable(att, src, true, true, 2, opts)
}

func TestTableText(t *testing.T) {
	full := tableFixture(t, TableOptions{Threshold: 1}).Text()
	for _, want := range []string{
		"In[5]: % of time = 100.00% out of 1.00 s.",
		"Allocated 0.977 MiB in 1,000 objects per execution on the cell's lines (2 executions, every allocation recorded).",
		"In[3]:3 │  30% │         │        │", // work's loop, Go
		"In[3]:4 │  10% │         │     2% │", // work, Go and system
		"      2 │      │      8% │",          // mallocgc from line 2: runtime
		"│ 0.977 MiB │   1,000 │",             // line 1's allocation, per execution
		"│ ████       │",                      // 40% → 4 blocks of 10%
		"func work(n int) int {",              // the declaration's source
		"sort.Ints(xs)",
		outsideText,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("table lacks %q:\n%s", want, full)
		}
	}
	for _, l := range strings.Split(full, "\n") {
		if n := utf8.RuneCountInString(l); strings.Contains(l, "│") && n > textWidth {
			t.Errorf("a row of %d columns, wider than a terminal's %d: %q", n, textWidth, l)
		}
	}
	if strings.Contains(full, "func other") {
		t.Errorf("untouched declaration shown:\n%s", full)
	}
	// Line 4 (_ = buf) is in the full table, blank.
	if !strings.Contains(full, "_ = buf") {
		t.Errorf("full table lacks the idle line:\n%s", full)
	}
	reduced := tableFixture(t, TableOptions{Reduced: true, Threshold: 5}).Text()
	for _, gone := range []string{"_ = buf", "return s", "s := 0"} {
		if strings.Contains(reduced, gone) {
			t.Errorf("reduced table shows %q:\n%s", gone, reduced)
		}
	}
	if !strings.Contains(reduced, "...") || !strings.Contains(reduced, "In[3]:3") {
		t.Errorf("reduced table lacks gaps or the hot line:\n%s", reduced)
	}
}

func TestTableHTML(t *testing.T) {
	h := tableFixture(t, TableOptions{Threshold: 1}).HTML()
	// The fragment is well-formed (void-element free) markup.
	d := xml.NewDecoder(strings.NewReader(strings.ReplaceAll(h, "<br>", "<br/>")))
	d.Entity = xml.HTMLEntity
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("table HTML is not well formed: %v\n%s", err, h)
		}
	}
	for _, want := range []string{"In[5]: % of time", "In[3]:3", "func work(n int) int {", `title="1,024,000 bytes"`, "<style"} {
		if want == "<style" {
			if strings.Contains(h, want) {
				t.Error("table uses a <style> element; sanitizers drop it")
			}
			continue
		}
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestFlameSVG(t *testing.T) {
	tests := []struct {
		p     *profile.Profile
		si    string
		names []string
	}{
		{cpuFixture(), "cpu", []string{"main.work (In[3])", "sort.Ints", "runtime.gcBgMarkWorker"}},
		{loadProfile(t, "testdata/cpu.pb.gz"), "cpu", []string{"perfnbcell.work (In[2])"}},
		{loadProfile(t, "testdata/mem.pb.gz"), "alloc_space", []string{"perfnbcell.alloc (In[2])"}},
	}
	for _, tt := range tests {
		svg, err := FlameSVG(tt.p, SVGOptions{SampleType: tt.si})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			XMLName xml.Name
			Groups  []struct {
				Title string `xml:"title"`
				Rect  struct {
					Width float64 `xml:"width,attr"`
				} `xml:"rect"`
			} `xml:"g"`
		}
		if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
			t.Fatalf("SVG is not valid XML: %v", err)
		}
		if doc.XMLName.Local != "svg" || len(doc.Groups) < 3 {
			t.Fatalf("got <%s> with %d frames", doc.XMLName.Local, len(doc.Groups))
		}
		if w := doc.Groups[0].Rect.Width; w < 1199 {
			t.Errorf("root frame is %.1f wide, want the full 1200", w)
		}
		for _, n := range tt.names {
			found := false
			for _, g := range doc.Groups {
				found = found || strings.HasPrefix(g.Title, n)
			}
			if !found {
				t.Errorf("%s: no frame titled %q", tt.si, n)
			}
		}
	}
	if _, err := FlameSVG(cpuFixture(), SVGOptions{SampleType: "alloc_space"}); err == nil {
		t.Error("missing sample type accepted")
	}
}

func TestWrapSource(t *testing.T) {
	tests := []struct {
		src   string
		width int
		want  []string
	}{
		{"\tx := 1", 30, []string{"    x := 1"}},
		{"\ti := sort.Search(len(s.keys), func(i int) bool { return s.keys[i] >= k })", 40,
			[]string{"    i := sort.Search(len(s.keys), func(i", "        int) bool { return s.keys[i] >=", "        k })"}},
		{"abcdefghijklmnopqrstuvwxyz", 10, []string{"abcdefghij", "    klmnop", "    qrstuv", "    wxyz"}},
	}
	for _, tt := range tests {
		got := wrapSource(tt.src, tt.width)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("wrapSource(%q, %d) = %q, want %q", tt.src, tt.width, got, tt.want)
		}
		for _, l := range got {
			if utf8.RuneCountInString(l) > tt.width {
				t.Errorf("wrapSource(%q, %d): %q is wider", tt.src, tt.width, l)
			}
		}
	}
}
