package scalene

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/magics/internal/browsertest"
	"github.com/perfnb/perfnb/runtime/cell"
)

const chromium = browsertest.Chromium

// testdataResult is a Result over the profiles in testdata, as the magic
// would have it for the cell of testdata/cell_test.go.txt.
func testdataResult(t *testing.T) *Result {
	t.Helper()
	decls := []cell.Decl{
		{Kind: cell.FuncDecl, Name: "work", Cell: 2, Line: 1, Source: "func work(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i * i % 7\n\t}\n\treturn s\n}"},
		{Kind: cell.FuncDecl, Name: "alloc", Cell: 2, Line: 9, Source: "func alloc() {\n\tfor i := 0; i < 1000; i++ {\n\t\tb := make([]byte, 1024)\n\t\tsink = b\n\t}\n}"},
	}
	return &Result{
		Cell:       3,
		Sources:    NewSources(3, "work(300000)\nwork(100000)\nalloc()\n", 1, decls),
		CPU:        loadProfile(t, "testdata/cpu.pb.gz"),
		Mem:        loadProfile(t, "testdata/mem.pb.gz"),
		CPUPath:    "testdata/cpu.pb.gz",
		MemPath:    "testdata/mem.pb.gz",
		Executions: 1,
	}
}

func TestRenderBundle(t *testing.T) {
	b, err := testdataResult(t).Render(RenderOptions{Table: TableOptions{Threshold: 1}, FlameGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	page := b["text/html"].(string)
	for _, want := range []string{"data:image/svg+xml;base64,", `class="perfnb-flame-static"`, `sandbox="allow-scripts"`, "In[2]:11", "Flame graph: CPU time", "Flame graph: Allocated bytes"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(page, "<iframe"); n != 2 {
		t.Errorf("%d iframes, want 2 (CPU and memory)", n)
	}
	t.Logf("HTML output: %d bytes", len(page))
	none, err := testdataResult(t).Render(RenderOptions{Table: TableOptions{Threshold: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if h := none["text/html"].(string); strings.Contains(h, "<iframe") || strings.Contains(h, "image/svg+xml") {
		t.Error("--no-flamegraph output has a flame graph")
	}
}

// screenshot opens url in headless Chromium with a window of width ×
// height pixels and writes a PNG of the whole page to path, once the
// page's frames have had a moment to render.
func screenshot(t *testing.T, url string, width, height int, path string) {
	t.Helper()
	p := browsertest.Start(t, width, height).Open(url)
	p.Eval(`new Promise(function(r){setTimeout(r,1500)})`)
	if err := os.WriteFile(path, p.Screenshot(true), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() < 20000 {
		t.Errorf("screenshot %s: %v", path, err)
	}
	t.Logf("screenshot: %s", path)
}

// probeScript runs inside pprof's page in the sandboxed srcdoc iframe, as
// a user would: it counts the flame graph's boxes, clicks the box of
// perfnbcell.work to zoom, searches by regexp (Enter), and posts what it saw to the
// parent page.
const probeScript = `<script>(function(){
var r={errors:[]};
window.addEventListener('error',function(e){r.errors.push(String(e.message))});
function boxes(){return Array.prototype.slice.call(document.querySelectorAll('#stack-chart .boxbg'))}
function boxFor(re){var found=null;boxes().forEach(function(b){var t=b.querySelector('.boxtext');if(!found&&t&&re.test(t.textContent))found=b});return found}
var done=false;
// pprof renders at load, and again on resize: a sandboxed frame may get
// its size from the parent after its scripts ran.
function probe(){
if(done||boxes().length==0)return;
done=true;
try{
  r.boxes=boxes().length;
  r.chartWidth=document.getElementById('stack-chart').clientWidth;
  var b=boxFor(/work/);
  r.workWidthBefore=b?b.clientWidth:-1;
  if(b){
    b.dispatchEvent(new MouseEvent('mousedown',{bubbles:true,clientX:5,clientY:5}));
    b.dispatchEvent(new MouseEvent('click',{bubbles:true,clientX:5,clientY:5}));
  }
  r.url=document.URL;
  r.boxesAfterZoom=boxes().length;
  var z=boxFor(/work/);
  r.workWidthAfter=z?z.clientWidth:-1;
  var s=document.getElementById('search');
  s.value='alloc';
  s.dispatchEvent(new KeyboardEvent('keydown',{key:'Enter',bubbles:true,cancelable:true}));
  r.searchURL=document.URL;
  var f=boxFor(/alloc/);
  r.allocWidth=f?f.clientWidth:-1;
  var a=document.querySelector('#action-menu a[href]');
  var ev=new MouseEvent('click',{bubbles:true,cancelable:true});
  if(a){a.dispatchEvent(ev)}
  r.linkBlocked=ev.defaultPrevented;
}catch(e){r.errors.push(String(e))}
console.log('PROBE '+JSON.stringify(r));
parent.postMessage(JSON.stringify(r),'*');
}
probe();
window.addEventListener('resize',probe);
setInterval(probe,200);
})();</script>`

// testdataSource is the cell the profiles in testdata came from.
const testdataSource = "%%scalene\nwork(300000)\nwork(100000)\nalloc()"

// notebookPage wraps the magic's HTML output in a page that looks like a
// notebook: with nbconvert when it is installed (a real HTML export of a
// notebook holding the output), else a plain page.
func notebookPage(t *testing.T, dir, source, output, text string, dark bool) string {
	t.Helper()
	nb := map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "perfnb", "display_name": "Go (perfnb)", "language": "go"}},
		"cells": []any{map[string]any{
			"cell_type": "code", "execution_count": 3, "id": "c3", "metadata": map[string]any{},
			"source": source,
			"outputs": []any{map[string]any{
				"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"text/html": output, "text/plain": text},
			}},
		}},
	}
	name := "light"
	if dark {
		name = "dark"
	}
	ipynb := filepath.Join(dir, "scalene-"+name+".ipynb")
	data, err := json.Marshal(nb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ipynb, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scalene-"+name+".html")
	args := []string{"-m", "nbconvert", "--to", "html", "--output", out, ipynb}
	if dark {
		args = append(args, "--HTMLExporter.theme=dark")
	}
	if err := exec.Command("/usr/bin/python3", args...).Run(); err == nil {
		return out
	}
	style := "background:#fff;color:#222"
	if dark {
		style = "background:#111;color:#ddd"
	}
	page := fmt.Sprintf("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"%s;font-family:sans-serif;margin:20px\"><pre>In [3]: %%%%scalene ...</pre>%s</body></html>", style, output)
	if err := os.WriteFile(out, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFlameGraphInBrowser opens a notebook page holding the magic's output
// in headless Chromium: the static SVG and pprof's page are there, and
// pprof's flame graph renders, zooms and searches inside its sandboxed
// srcdoc iframe. scripts/flamegraph-browser runs it and keeps the
// screenshots (SCALENE_SHOTS=dir).
func TestFlameGraphInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	res := testdataResult(t)
	bundle, err := res.Render(RenderOptions{Table: TableOptions{Threshold: 1}, FlameGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	output := bundle["text/html"].(string)

	t.Run("notebook page", func(t *testing.T) {
		page := notebookPage(t, dir, testdataSource, output, bundle["text/plain"].(string), false)
		dom := chromiumEval(t, "file://"+page, "document.documentElement.outerHTML")
		for _, want := range []string{"data:image/svg+xml;base64,", "<iframe", "In[3]: % of time", "In[2]:11"} {
			if !strings.Contains(dom, want) {
				t.Errorf("rendered page lacks %q", want)
			}
		}
	})

	t.Run("pprof in srcdoc iframe", func(t *testing.T) {
		pg, err := RenderPprofFlameGraph(res.CPU, nil, "cpu", "In[3]")
		if err != nil {
			t.Fatal(err)
		}
		pg = bytes.Replace(pg, []byte("</body>"), []byte(probeScript+"</body>"), 1)
		frame := EmbedPprofPage(pg, "probe", 600)
		// The frame hidden, as the magic publishes it, that a script
		// shows after load, as the output's does: pprof renders when the
		// frame gets its size.
		for _, closed := range []bool{false, true} {
			name := map[bool]string{false: "probe.html", true: "probe-hidden.html"}[closed]
			page := filepath.Join(dir, name)
			if d := os.Getenv("SCALENE_SHOTS"); d != "" {
				page = filepath.Join(d, name)
			}
			body := frame
			if closed {
				body = `<div id="d">` + strings.Replace(frame, `style="`, `style="display:none;`, 1) + `</div>` +
					`<script>setTimeout(function(){document.querySelector('#d iframe').style.display='block'},500)</script>`
			}
			// The listener is in place before the frame exists: the
			// probe posts once, and a frame's scripts may run before
			// the rest of the parent page is parsed.
			doc := `<!DOCTYPE html><html><head><meta charset="utf-8">` +
				`<script>var probed='pending';window.addEventListener('message',function(e){probed=e.data;var p=document.getElementById('probe');if(p)p.textContent=e.data})</script>` +
				`</head><body><pre id="probe">pending</pre>` + body +
				`<script>document.getElementById('probe').textContent=probed</script></body></html>`
			if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			checkProbe(t, page, closed)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		shots := os.Getenv("SCALENE_SHOTS")
		if shots == "" {
			shots = dir
		}
		for _, dark := range []bool{false, true} {
			page := notebookPage(t, dir, testdataSource, output, bundle["text/plain"].(string), dark)
			screenshot(t, "file://"+page, 1280, 2600, filepath.Join(shots, strings.TrimSuffix(filepath.Base(page), ".html")+".png"))
		}
	})
}

// checkProbe opens a page holding a frame with probeScript and checks what
// the probe saw: boxes, zoom, search, blocked links.
func checkProbe(t *testing.T, page string, closed bool) {
	t.Helper()
	// Real time, default site isolation (the sandboxed frame runs in its
	// own process): wait until the probe reports or 60 s pass (a loaded
	// CI machine can take long to start the frame's process).
	got := chromiumEval(t, "file://"+page, `new Promise(function(resolve){
		var n=0;(function poll(){var t=document.getElementById('probe').textContent;
		if(t!=='pending'||n++>600){resolve(t)}else{setTimeout(poll,100)}})()})`)
	if got == "pending" {
		t.Fatal("the probe in the frame did not report within 60 s")
	}
	m := []string{"", got}
	var r struct {
		Errors                            []string
		Boxes, BoxesAfterZoom, AllocWidth int
		ChartWidth                        int
		WorkWidthBefore, WorkWidthAfter   int
		URL, SearchURL                    string
		LinkBlocked                       bool
	}
	if err := json.Unmarshal([]byte(m[1]), &r); err != nil {
		t.Fatalf("probe said %q: %v", m[1], err)
	}
	t.Logf("probe: %+v", r)
	if len(r.Errors) > 0 {
		t.Errorf("script errors in the frame: %v", r.Errors)
	}
	if r.Boxes < 10 || r.ChartWidth < 500 {
		t.Errorf("flame graph has %d boxes in %d px", r.Boxes, r.ChartWidth)
	}
	if !strings.Contains(r.URL, "p=") || r.WorkWidthAfter <= r.WorkWidthBefore || r.WorkWidthAfter < r.ChartWidth*9/10 {
		t.Errorf("click did not zoom: url %q, work box %d px → %d px of %d", r.URL, r.WorkWidthBefore, r.WorkWidthAfter, r.ChartWidth)
	}
	if !strings.Contains(r.SearchURL, "p=alloc") || r.AllocWidth < r.ChartWidth*9/10 {
		t.Errorf("search for alloc: url %q, alloc box %d px of %d", r.SearchURL, r.AllocWidth, r.ChartWidth)
	}
	if !r.LinkBlocked {
		t.Error("a link in pprof's page can navigate the frame away")
	}
	if closed {
		t.Logf("(frame opened after load)")
	}
}

// chromiumEval opens url in headless Chromium, evaluates expr in the
// page, awaiting it if it is a promise, and returns its value as a string.
func chromiumEval(t *testing.T, url, expr string) string {
	t.Helper()
	return browsertest.Start(t, 1200, 900).Open(url).Eval(expr)
}
