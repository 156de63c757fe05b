package scalene

import (
	"cmp"
	_ "embed"
	"encoding/base64"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"hash/fnv"
	"html/template"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Result is a finished profile of one body: the profiles the child wrote
// and where they are saved.
type Result struct {
	Cell      int
	Label     string // the variant's label; "" when the body is not a comparison
	Bench     string // the benchmark's name without "Benchmark"; "" for benchName
	Sources   Sources
	Decisions *Decisions       // the compiler's; nil when not reported
	CPU       *profile.Profile // nil with --memory-only
	Mem       *profile.Profile // nil with --cpu-only
	// CPUSetUp and MemSetUp are what the profiles held of perfnb's own
	// set-up in the child, left out of CPU and Mem (profiles.Split).
	CPUSetUp, MemSetUp *profile.Profile
	CPUPath            string
	MemPath            string
	Binary             string // the test binary the profiles came from
	Executions         int64  // body executions in the memory run
	// CPUExecutions and NsPerOp are the body's executions in the CPU
	// run and their average time, as the benchmark reported them.
	CPUExecutions int64
	NsPerOp       float64
}

// RenderOptions controls Render.
type RenderOptions struct {
	Table      TableOptions
	FlameGraph bool // add flame graphs to the HTML
	Asm        int  // disassemble the hottest lines, this many; 0 for none
}

// bench returns the benchmark's name without "Benchmark".
func (r *Result) bench() string {
	if r.Bench == "" {
		return benchName
	}
	return r.Bench
}

// Attribute attributes the result's profiles to cell lines.
func (r *Result) Attribute() (*Attribution, error) {
	att := NewAttribution()
	if n := len(r.Sources.Body); n > 0 {
		att.Body = &BodyFunc{Name: "Benchmark" + r.bench(), Cell: r.Cell, First: r.Sources.BodyLine, Last: r.Sources.BodyLine + n - 1}
	}
	if r.CPU != nil {
		if err := att.AddCPU(r.CPU); err != nil {
			return nil, fmt.Errorf("reading the CPU profile: %w", err)
		}
	}
	if r.Mem != nil {
		if err := att.AddAlloc(r.Mem); err != nil {
			return nil, fmt.Errorf("reading the memory profile: %w", err)
		}
	}
	return att, nil
}

// table attributes the profiles and lays out the line table.
func (r *Result) table(opts TableOptions) (*Table, *Attribution, error) {
	att, err := r.Attribute()
	if err != nil {
		return nil, nil, err
	}
	t := BuildTable(att, r.Sources, r.CPU != nil, r.Mem != nil, r.Executions, opts)
	t.Decisions = r.Decisions.withCallSites(t.Rows)
	t.SetUp = SetUp{CPU: profiles.Total(r.CPUSetUp, "cpu"), Bytes: profiles.Total(r.MemSetUp, "alloc_space")}
	return t, att, nil
}

// title names the cell (and variant) in pprof's pages, where the binary's
// name would otherwise show: "In[5]" or "In[5] fast".
func (r *Result) title() string {
	return strings.TrimSpace(cell.File(r.Cell) + " " + r.Label)
}

// paths are the saved profiles, CPU first.
func (r *Result) paths() []string {
	var ps []string
	for _, p := range []string{r.CPUPath, r.MemPath} {
		if p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// pathsText lists the saved profiles in text.
func pathsText(rs []*Result) string {
	var b strings.Builder
	var first string
	for _, r := range rs {
		for _, p := range []struct{ what, path string }{{"CPU", r.CPUPath}, {"memory", r.MemPath}} {
			if p.path == "" {
				continue
			}
			if r.Label != "" {
				p.what = r.Label + ": " + p.what
			}
			fmt.Fprintf(&b, "%s profile: %s\n", p.what, p.path)
			first = cmp.Or(first, p.path)
		}
	}
	if first != "" {
		fmt.Fprintf(&b, "Explore with: go tool pprof -http=: %s\n", first)
	}
	return b.String()
}

//go:embed render.html.tmpl
var renderTemplateText string

// renderTemplate lays out a magic's HTML output: tables, assembly, flame
// graphs, the saved profiles.
var renderTemplate = template.Must(template.New("render").Parse(renderTemplateText))

// page is what renderTemplate shows.
type page struct {
	Lead    string // a line above the tables
	Tables  []pageTable
	Asm     []template.HTML
	Flames  []flame
	Paths   []string
	Explore string
}

type pageTable struct {
	Label string
	Table template.HTML
}

// flame is a flame graph section (see flameSection).
type flame struct {
	ID, What    string
	StaticSVG   template.HTMLAttr // src="data:..." (base64 has no quote to escape, and its + signs stay as they are)
	Width       int
	PprofFrame  template.HTML // pprof's page in a hidden iframe; "" when unavailable
	Unavailable string
	Script      template.HTML
}

// Render builds the display bundle: the line table as text/plain and, in
// text/html, the table followed by a static SVG flame graph and pprof's
// interactive one for CPU time and for allocated bytes.
func (r *Result) Render(opts RenderOptions) (protocol.Bundle, error) {
	t, att, err := r.table(opts.Table)
	if err != nil {
		return nil, err
	}
	text := t.Text()
	pg := page{Tables: []pageTable{{Table: template.HTML(t.HTML())}}, Paths: r.paths()}
	if opts.Asm > 0 && r.CPU != nil {
		asm := r.Assembly(att, t.Rows, opts.Asm)
		text += "\n" + asm.Text()
		pg.Asm = append(pg.Asm, asm.HTML())
	}
	if opts.FlameGraph {
		if r.CPU != nil {
			sec := func(v int64) string { return fmt.Sprintf("%.2f s", float64(v)/1e9) }
			f, err := flameSection(r.CPU, nil, "cpu", "CPU time", r.title(), sec)
			if err != nil {
				return nil, err
			}
			pg.Flames = append(pg.Flames, f)
		}
		if r.Mem != nil && t.Total.AllocBytes > t.Outside.AllocBytes {
			f, err := flameSection(r.Mem, nil, "alloc_space", "Allocated bytes", r.title(), func(v int64) string { return sysmem.FormatBytes(float64(v)) })
			if err != nil {
				return nil, err
			}
			pg.Flames = append(pg.Flames, f)
		}
	}
	text += pathsText([]*Result{r})
	return pg.bundle(text)
}

// bundle executes the template.
func (pg page) bundle(text string) (protocol.Bundle, error) {
	if len(pg.Paths) > 0 {
		pg.Explore = pg.Paths[0]
	}
	var b strings.Builder
	if err := renderTemplate.Execute(&b, pg); err != nil {
		return nil, fmt.Errorf("rendering the HTML output: %w", err)
	}
	return protocol.Bundle{"text/plain": text, "text/html": b.String()}, nil
}

// flameSection prepares a flame graph of one sample type: the static
// SVG, then pprof's page in a sandboxed iframe, hidden until a small
// script shows it in the picture's place, where scripts run (a live
// notebook, an HTML export). Where scripts are stripped (an untrusted
// notebook, a sanitized export, a code-hosting site), the frame is
// stripped too and the static picture stays. With a base profile, both
// are difference flame graphs of p against base.
func flameSection(p, base *profile.Profile, si, what, title string, format func(int64) string) (flame, error) {
	svg, err := FlameSVG(p, SVGOptions{SampleType: si, Format: format, Base: base})
	if err != nil {
		return flame{}, err
	}
	h := fnv.New64a()
	h.Write([]byte(si))
	h.Write([]byte(svg))
	id := fmt.Sprintf("perfnb-flame-%x", h.Sum64())
	f := flame{ID: id, What: what, Width: defaultSVGWidth,
		StaticSVG: template.HTMLAttr(`src="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString([]byte(svg)) + `"`),
		Script:    template.HTML(strings.ReplaceAll(openFlameScript, "ID", id))}
	pg, err := RenderPprofFlameGraph(p, base, si, title)
	if err != nil {
		// The static picture is there; say why the interactive one is not.
		f.Unavailable = "(pprof's interactive flame graph is unavailable: " + err.Error() + ")"
		f.Script = ""
		return f, nil
	}
	frame := EmbedPprofPage(pg, what+" flame graph (pprof)", frameHeight(p))
	f.PprofFrame = template.HTML(strings.Replace(frame, `style="`, `style="display:none;`, 1))
	return f, nil
}

// openFlameScript shows the interactive flame graph of the section whose
// id replaces ID in its static copy's place, with a hint of what it
// does. Notebook front ends run an output's scripts before the output is
// attached to the page, hence the retries.
const openFlameScript = `<script>(function(){var n=0;function go(){var s=document.getElementById("ID");` +
	`if(!s){if(++n<50)setTimeout(go,100);return}var f=s.querySelector("iframe"),t=s.querySelector(".perfnb-flame-static"),` +
	`h=s.querySelector(".perfnb-flame-hint");if(f){f.style.display="block";if(t)t.style.display="none";` +
	`if(h)h.textContent="(pprof's: click a frame to zoom, type a regexp to search)"}}setTimeout(go,0)})()</script>`
