package scalene

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// diffProbe runs inside pprof's difference flame graph, in its sandboxed
// srcdoc iframe, and posts what it rendered to the parent page.
const diffProbe = `<script>(function(){
var done=false;
function probe(){
var b=document.querySelectorAll('#stack-chart .boxbg');
if(done||b.length==0)return;
done=true;
var names=[];b.forEach(function(x){var t=x.querySelector('.boxtext');if(t)names.push(t.textContent)});
parent.postMessage(JSON.stringify({boxes:b.length,title:document.title,names:names}),'*');
}
probe();window.addEventListener('resize',probe);setInterval(probe,200);
})();</script>`

// TestVariantsInBrowser profiles two labelled variants and opens the
// output, in a notebook page, in headless Chromium: both tables side by
// side, the static difference flame graph loaded, and pprof's difference
// flame graph rendering in its frame. It keeps a screenshot
// (SCALENE_SHOTS=dir keeps it there).
func TestVariantsInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	const args, body = "--cpu-only --duration 500ms", "fast: sink = light()\nslow: sink = heavy()\n"
	text, output := runScalene(t, args, body, 8)
	dir := t.TempDir()
	page := notebookPage(t, dir, "%%scalene "+args+"\n"+body, output, text, false)

	t.Run("tables side by side", func(t *testing.T) {
		got := chromiumEval(t, "file://"+page, `new Promise(function(resolve){setTimeout(function(){
			var v=Array.prototype.map.call(document.querySelectorAll('.perfnb-scalene-variant'),function(e){var r=e.getBoundingClientRect();return {top:Math.round(r.top),left:Math.round(r.left),width:Math.round(r.width),label:e.firstChild.textContent}});
			var imgs=Array.prototype.filter.call(document.querySelectorAll('img.perfnb-flame-static'),function(i){return i.complete&&i.naturalWidth>0}).length;
			resolve(JSON.stringify({variants:v,images:imgs,frames:document.querySelectorAll('iframe').length,
				diff:document.body.textContent.indexOf('CPU time per execution, slow against fast')>=0}))},1500)})`)
		var r struct {
			Variants []struct {
				Top, Left, Width int
				Label            string
			}
			Images, Frames int
			Diff           bool
		}
		if err := json.Unmarshal([]byte(got), &r); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		t.Logf("%+v", r)
		if len(r.Variants) != 2 || r.Variants[0].Label != "fast" || r.Variants[1].Label != "slow" {
			t.Fatalf("variant tables: %+v", r.Variants)
		}
		if a, b := r.Variants[0], r.Variants[1]; a.Top != b.Top || b.Left < a.Left+a.Width {
			t.Errorf("the tables are not side by side: %+v", r.Variants)
		}
		if r.Images != 1 || r.Frames != 1 || !r.Diff {
			t.Errorf("difference flame graph: %d static images loaded, %d frames, titled: %v", r.Images, r.Frames, r.Diff)
		}
	})

	t.Run("pprof's difference flame graph", func(t *testing.T) { checkDiffFrame(t, dir, output) })

	t.Run("screenshot", func(t *testing.T) {
		shots := os.Getenv("SCALENE_SHOTS")
		if shots == "" {
			shots = dir
		}
		screenshot(t, "file://"+page, 1400, 1500, filepath.Join(shots, "scalene-variants.png"))
	})
}

// checkDiffFrame opens pprof's difference flame graph of the output, with
// a probe, in its sandboxed srcdoc iframe: it renders, titled after the
// cell and the variants, with spin's frames.
func checkDiffFrame(t *testing.T, dir, output string) {
	m := regexp.MustCompile(`srcdoc='([^']*)'`).FindStringSubmatch(output)
	if m == nil {
		t.Fatal("no srcdoc frame in the output")
	}
	doc := strings.Replace(html.UnescapeString(m[1]), "</body>", diffProbe+"</body>", 1)
	probe := filepath.Join(dir, "diff-probe.html")
	frame := EmbedPprofPage([]byte(doc), "probe", 600)
	if err := os.WriteFile(probe, []byte(`<!DOCTYPE html><html><head><meta charset="utf-8">`+
		`<script>var probed='pending';window.addEventListener('message',function(e){probed=e.data})</script>`+
		`</head><body>`+frame+`</body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	got := chromiumEval(t, "file://"+probe, `new Promise(function(resolve){var n=0;(function poll(){
		if(probed!=='pending'||n++>600){resolve(probed)}else{setTimeout(poll,100)}})()})`)
	var r struct {
		Boxes int
		Title string
		Names []string
	}
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatalf("the probe said %q: %v", got, err)
	}
	t.Logf("%d boxes, title %q", r.Boxes, r.Title)
	if r.Boxes < 3 || !strings.Contains(r.Title, "In[8] slow vs fast") {
		t.Errorf("pprof's difference flame graph: %d boxes, title %q", r.Boxes, r.Title)
	}
	if !strings.Contains(strings.Join(r.Names, " "), "spin") {
		t.Errorf("no frame of spin in %v", r.Names)
	}
}
