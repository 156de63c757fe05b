package scalene

import (
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/magics/pprofdriver"
)

// RenderPprofFlameGraph renders pprof's own flame graph page (the
// /flamegraph view of `go tool pprof -http`) for the sample type si
// ("cpu", "alloc_space", ...), titled title where pprof would name the
// binary. With a base profile it is the difference flame graph of p
// against base (pprof's -diff_base).
func RenderPprofFlameGraph(p, base *profile.Profile, si, title string) ([]byte, error) {
	return pprofdriver.Page(pprofdriver.Profiles{Profile: p, Base: base, Title: title}, "/flamegraph", "si="+url.QueryEscape(si))
}

// iframeShim runs first in the embedded pprof page. In an iframe's
// srcdoc the document's URL is about:srcdoc and the browser refuses
// history.pushState with a new query, which is how pprof's flame graph
// zooms (it pushes ?p=REGEXP and re-renders from document.URL). The shim
// keeps the URL in a variable instead: pushState and replaceState update
// it and document.URL reads it. It also stops every link from navigating
// the frame away (pprof's menus link to its other views, which do not
// exist here) except the in-page "#" links. And it renders the flame
// graph again once the page has loaded when it is still empty: pprof
// renders as its script runs, at the chart's width then, and a frame not
// yet laid out has none (the graph stayed blank in about one load in
// five in Chromium).
const iframeShim = `<script>(function(){
var cur=String(document.URL);
function set(s,t,u){if(u!=null){try{cur=new URL(String(u),cur).href}catch(e){cur=String(u)}}window.dispatchEvent(new Event('perfnb-url'))}
try{history.pushState=set;history.replaceState=set}catch(e){}
try{Object.defineProperty(document,'URL',{get:function(){return cur},configurable:true})}catch(e){}
document.addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('a[href]');if(a&&a.getAttribute('href')!=='#'){e.preventDefault()}},true);
window.addEventListener('load',function(){var c=document.getElementById('stack-chart');if(c&&!c.firstChild){window.dispatchEvent(new Event('resize'))}});
})();</script>
<style>.header .menu-item,.header .title{display:none!important}#action-source,#action-source-tab{display:none!important}#stack-holder{overflow-x:hidden}</style>`

// EmbedPprofPage wraps a pprof page for a notebook output: an iframe
// whose srcdoc holds the page with iframeShim injected, scripts allowed,
// and nothing else (the sandbox gives the frame an opaque origin, so it
// cannot touch the notebook).
func EmbedPprofPage(page []byte, title string, height int) string {
	s := string(page)
	if i := strings.Index(s, "<head>"); i >= 0 {
		i += len("<head>")
		s = s[:i] + iframeShim + s[i:]
	} else {
		s = iframeShim + s
	}
	return fmt.Sprintf(`<iframe title="%s" sandbox="allow-scripts" style="width:100%%;height:%dpx;border:1px solid rgba(128,128,128,.4);background:#fff" srcdoc='%s'></iframe>`,
		html.EscapeString(title), height, srcdocEscaper.Replace(s))
}

// srcdocEscaper escapes a page for a single-quoted attribute value: only
// & and ' need it there, and pprof's page is mostly JSON full of double
// quotes, which html.EscapeString would grow by a third.
var srcdocEscaper = strings.NewReplacer("&", "&amp;", "'", "&#39;")

// frameHeight is a height for the pprof page's iframe that shows the
// deepest stack: 20 px a row, plus the header.
func frameHeight(p *profile.Profile) int {
	depth := 0
	for _, s := range p.Sample {
		d := 0
		for _, l := range s.Location {
			d += max(len(l.Line), 1)
		}
		depth = max(depth, d)
	}
	return min(max(120+20*(depth+1), 240), 720)
}
