package scalene

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFlameGraphOpensWhereScriptsRun checks the progressive enhancement of
// the flame graph sections: in a page that runs the output's scripts (a
// live notebook, an HTML export) pprof's zoomable graph shows and the
// static copy is hidden; with the scripts stripped, and the frames with
// them (a code-hosting site, an untrusted notebook), the static SVG
// image shows.
func TestFlameGraphOpensWhereScriptsRun(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bundle, err := testdataResult(t).Render(RenderOptions{Table: TableOptions{Threshold: 1}, FlameGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	output := bundle["text/html"].(string)
	if n := strings.Count(output, `class="perfnb-flame"`); n != 2 {
		t.Fatalf("%d flame graph sections, want 2", n)
	}
	stripped := regexp.MustCompile(`(?s)<script>\(function\(\)\{var n=0;.*?</script>|<iframe .*?</iframe>`).ReplaceAllString(output, "")
	if strings.Count(output, "<script>(function(){var n=0;") != 2 || strings.Contains(stripped, "<iframe") {
		t.Fatal("no opening script and frame in each section of the output")
	}
	const probe = `new Promise(function(resolve){var n=0;(function poll(){
		var fs=document.querySelectorAll('.perfnb-flame iframe'),st=document.querySelectorAll('img.perfnb-flame-static');
		var shown=0,hidden=0,drawn=0;fs.forEach(function(f){if(f.getBoundingClientRect().height>0)shown++});
		st.forEach(function(i){if(getComputedStyle(i).display==='none')hidden++;if(i.complete&&i.naturalWidth>0)drawn++});
		if((shown==fs.length&&shown>0)||n++>30){resolve(JSON.stringify({frames:fs.length,shown:shown,static:st.length,hidden:hidden,drawn:drawn}))}
		else{setTimeout(poll,100)}})()})`
	for _, tc := range []struct {
		name, html            string
		frames, shown, hidden int
	}{
		{"scripts run", output, 2, 2, 2},
		{"scripts and frames stripped", stripped, 0, 0, 0},
	} {
		// The output is attached after its scripts ran, as Jupyter
		// Notebook 6 does (jQuery's append into a detached element).
		page := filepath.Join(t.TempDir(), "page.html")
		js, _ := json.Marshal(tc.html)
		doc := `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div id="nb"></div><script>
			var out=document.createElement('div');out.innerHTML=` + string(js) + `;
			out.querySelectorAll('script').forEach(function(s){(0,eval)(s.textContent)});
			setTimeout(function(){document.getElementById('nb').appendChild(out)},50);
			</script></body></html>`
		if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		var got struct{ Frames, Shown, Static, Hidden, Drawn int }
		if err := json.Unmarshal([]byte(chromiumEval(t, "file://"+page, probe)), &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Frames != tc.frames || got.Shown != tc.shown || got.Static != 2 || got.Hidden != tc.hidden || got.Drawn != 2 {
			t.Errorf("%s: %+v, want %d frames (%d shown) and 2 static graphs drawn (%d hidden)", tc.name, got, tc.frames, tc.shown, tc.hidden)
		}
	}
}
