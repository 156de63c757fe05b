package scalene

import (
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
)

// pprofMu serialises calls into github.com/google/pprof/driver. The driver
// keeps package-level state (the web UI's interactive mode, the flag and
// configuration globals of internal/driver), so two renders must never
// overlap. The library forces this shared state on us; it lives here and
// nowhere else.
var pprofMu sync.Mutex

// RenderPprofFlameGraph renders pprof's own flame graph page (the
// /flamegraph view of `go tool pprof -http`) for the sample type si
// ("cpu", "alloc_space", ...). No port is opened and no browser started:
// the driver's handlers are served into a recorder.
func RenderPprofFlameGraph(p *profile.Profile, si string) ([]byte, error) {
	pprofMu.Lock()
	defer pprofMu.Unlock()

	var page []byte
	var status int
	opts := &driver.Options{
		Flagset: newFlagSet([]string{"-http=localhost:0", "-no_browser", "-symbolize=none", "perfnb-profile"}),
		Fetch:   fetcher{p},
		UI:      quietUI{},
		HTTPServer: func(args *driver.HTTPServerArgs) error {
			h, ok := args.Handlers["/flamegraph"]
			if !ok {
				return errors.New("pprof has no /flamegraph view")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/flamegraph?si="+si, nil))
			status, page = rec.Code, rec.Body.Bytes()
			return nil
		},
	}
	if err := driver.PProf(opts); err != nil {
		return nil, fmt.Errorf("pprof could not render the flame graph: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("pprof could not render the flame graph (HTTP %d): %s", status, firstLine(string(page)))
	}
	return page, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// fetcher hands pprof the already parsed profile. The empty source name
// keeps pprof from saving a copy of it under $PPROF_TMPDIR.
type fetcher struct{ p *profile.Profile }

func (f fetcher) Fetch(string, time.Duration, time.Duration) (*profile.Profile, string, error) {
	return f.p.Copy(), "", nil
}

// quietUI is a pprof UI that reads nothing, prints nothing and wants no
// browser.
type quietUI struct{}

func (quietUI) ReadLine(string) (string, error)     { return "", io.EOF }
func (quietUI) Print(...any)                        {}
func (quietUI) PrintErr(...any)                     {}
func (quietUI) IsTerminal() bool                    { return false }
func (quietUI) WantBrowser() bool                   { return false }
func (quietUI) SetAutoComplete(func(string) string) {}

// flagSet is a driver.FlagSet over a standard flag.FlagSet with fixed
// arguments, so that pprof never reads the kernel's own command line.
type flagSet struct {
	*flag.FlagSet
	args  []string
	extra []string
}

func newFlagSet(args []string) *flagSet {
	fs := flag.NewFlagSet("pprof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, args: args}
}

func (f *flagSet) StringList(name, def, usage string) *[]*string {
	return &[]*string{f.String(name, def, usage)}
}

func (f *flagSet) ExtraUsage() string { return strings.Join(f.extra, "\n") }

func (f *flagSet) AddExtraUsage(eu string) { f.extra = append(f.extra, eu) }

func (f *flagSet) Parse(usage func()) []string {
	if err := f.FlagSet.Parse(f.args); err != nil {
		usage()
		return nil
	}
	return f.FlagSet.Args()
}

// iframeShim runs first in the embedded pprof page. In an iframe's
// srcdoc the document's URL is about:srcdoc and the browser refuses
// history.pushState with a new query, which is how pprof's flame graph
// zooms (it pushes ?p=REGEXP and re-renders from document.URL). The shim
// keeps the URL in a variable instead: pushState and replaceState update
// it and document.URL reads it. It also stops every link from navigating
// the frame away (pprof's menus link to its other views, which do not
// exist here) except the in-page "#" links.
const iframeShim = `<script>(function(){
var cur=String(document.URL);
function set(s,t,u){if(u!=null){try{cur=new URL(String(u),cur).href}catch(e){cur=String(u)}}window.dispatchEvent(new Event('perfnb-url'))}
try{history.pushState=set;history.replaceState=set}catch(e){}
try{Object.defineProperty(document,'URL',{get:function(){return cur},configurable:true})}catch(e){}
document.addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('a[href]');if(a&&a.getAttribute('href')!=='#'){e.preventDefault()}},true);
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
