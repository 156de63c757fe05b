package scalene

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"html"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Result is a finished profile of one body: the profiles the child wrote
// and where they are saved.
type Result struct {
	Cell       int
	Sources    Sources
	CPU        *profile.Profile // nil with --memory-only
	Mem        *profile.Profile // nil with --cpu-only
	CPUPath    string
	MemPath    string
	Executions int64 // body executions in the memory run
}

// RenderOptions controls Render.
type RenderOptions struct {
	Table      TableOptions
	FlameGraph bool // add flame graphs to the HTML
}

// Attribute attributes the result's profiles to cell lines.
func (r *Result) Attribute() (*Attribution, error) {
	att := NewAttribution()
	if n := len(r.Sources.Body); n > 0 {
		att.Body = &BodyFunc{Name: "Benchmark" + benchName, Cell: r.Cell, First: r.Sources.BodyLine, Last: r.Sources.BodyLine + n - 1}
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

// Render builds the display bundle: the line table as text/plain and, in
// text/html, the table followed by a static SVG flame graph and pprof's
// interactive one for CPU time and for allocated bytes.
func (r *Result) Render(opts RenderOptions) (kernel.Bundle, error) {
	att, err := r.Attribute()
	if err != nil {
		return nil, err
	}
	t := BuildTable(att, r.Sources, r.CPU != nil, r.Mem != nil, r.Executions, opts.Table)
	var text, page strings.Builder
	text.WriteString(t.Text())
	page.WriteString(`<div class="perfnb-scalene" style="color:inherit">`)
	page.WriteString(t.HTML())
	if opts.FlameGraph {
		if r.CPU != nil {
			sec := func(v int64) string { return fmt.Sprintf("%.2f s", float64(v)/1e9) }
			if err := flameSection(&page, r.CPU, "cpu", "CPU time", sec); err != nil {
				return nil, err
			}
		}
		if r.Mem != nil {
			b := func(v int64) string { return sysmem.FormatBytes(float64(v)) }
			if err := flameSection(&page, r.Mem, "alloc_space", "Allocated bytes", b); err != nil {
				return nil, err
			}
		}
	}
	var paths []string
	for _, p := range []struct{ what, path string }{{"CPU", r.CPUPath}, {"memory", r.MemPath}} {
		if p.path != "" {
			paths = append(paths, p.path)
			fmt.Fprintf(&text, "%s profile: %s\n", p.what, p.path)
		}
	}
	if len(paths) > 0 {
		fmt.Fprintf(&text, "Explore with: go tool pprof -http=: %s\n", paths[0])
		page.WriteString(`<div style="margin-top:6px;font-size:12px;opacity:.85">Profiles: `)
		for i, p := range paths {
			if i > 0 {
				page.WriteString(", ")
			}
			fmt.Fprintf(&page, "<code>%s</code>", html.EscapeString(p))
		}
		fmt.Fprintf(&page, ` (explore with <code>go tool pprof -http=: %s</code>)</div>`, html.EscapeString(paths[0]))
	}
	page.WriteString("</div>")
	return kernel.Bundle{"text/plain": text.String(), "text/html": page.String()}, nil
}

// flameSection writes a flame graph of one sample type: the static SVG,
// then pprof's page in a sandboxed iframe inside a <details>. Where
// scripts run (a live notebook page, an HTML export), a small script opens
// the <details> and hides the static copy, so the graph the reader sees is
// the one that zooms on a click; where scripts are stripped (a notebook
// viewed on a code-hosting site, an untrusted notebook), the static SVG
// stays and the <details> stays closed.
func flameSection(b *strings.Builder, p *profile.Profile, si, what string, format func(int64) string) error {
	svg, err := FlameSVG(p, SVGOptions{SampleType: si, Format: format})
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte(si))
	h.Write([]byte(svg))
	id := fmt.Sprintf("perfnb-flame-%x", h.Sum64())
	fmt.Fprintf(b, `<div class="perfnb-flame" id="%s">`, id)
	fmt.Fprintf(b, `<div style="margin:10px 0 4px;font-weight:bold;font-size:13px">Flame graph: %s</div>`, html.EscapeString(what))
	// The static copy is an <img> holding the SVG rather than inline SVG:
	// the HTML sanitizers of notebook front ends (Jupyter Notebook and
	// JupyterLab with an untrusted notebook, for example) drop <svg>
	// elements but keep an image's data URL.
	fmt.Fprintf(b, `<div class="perfnb-flame-static"><img alt="%s flame graph" style="width:100%%;max-width:%dpx;display:block" src="data:image/svg+xml;base64,%s"></div>`,
		html.EscapeString(what), defaultSVGWidth, base64.StdEncoding.EncodeToString([]byte(svg)))
	pg, err := RenderPprofFlameGraph(p, si)
	if err != nil {
		// The static picture is there; say why the interactive one is not.
		fmt.Fprintf(b, `<div style="font-size:12px;opacity:.8">(pprof's interactive flame graph is unavailable: %s)</div></div>`, html.EscapeString(err.Error()))
		return nil
	}
	fmt.Fprintf(b, `<details class="perfnb-flame-pprof" style="margin-top:4px"><summary style="cursor:pointer;font-size:12px">%s in pprof's flame graph: click a frame to zoom, type a regexp to search</summary>`, html.EscapeString(what))
	b.WriteString(EmbedPprofPage(pg, what+" flame graph (pprof)", frameHeight(p)))
	b.WriteString(`</details></div>`)
	b.WriteString(strings.ReplaceAll(openFlameScript, "ID", id))
	return nil
}

// openFlameScript opens the interactive flame graph of the section whose id
// replaces ID, and hides its static copy. Notebook front ends run an
// output's scripts before the output is attached to the page, hence the
// retries.
const openFlameScript = `<script>(function(){var n=0;function go(){var s=document.getElementById("ID");` +
	`if(!s){if(++n<50)setTimeout(go,100);return}var d=s.querySelector("details.perfnb-flame-pprof"),` +
	`t=s.querySelector(".perfnb-flame-static");if(d&&d.querySelector("iframe")){d.open=true;if(t)t.style.display="none"}}` +
	`setTimeout(go,0)})()</script>`
