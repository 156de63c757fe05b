package scalene

import (
	"cmp"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"hash/fnv"
	"html"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// flameNode is a frame in the call tree: one function called along one
// path from the root.
type flameNode struct {
	name     string
	cat      Category
	cell     int // n of In[n] for a cell's function, else -1
	value    int64
	children map[string]*flameNode
}

func (n *flameNode) child(fn *profile.Function) *flameNode {
	name := "?"
	if fn != nil {
		name = fn.Name
	}
	c := n.children[name]
	if c == nil {
		c = &flameNode{name: name, cat: Classify(fn), cell: -1, children: map[string]*flameNode{}}
		if fn != nil {
			if k, ok := cell.ParseFile(fn.Filename); ok {
				c.cell = k
			}
		}
		n.children[name] = c
	}
	return c
}

// buildFlameTree merges the samples' stacks, root first, inlined frames
// included, keyed by function name as pprof's flame graph does.
func buildFlameTree(p *profile.Profile, si int) *flameNode {
	root := &flameNode{name: "all", cell: -1, children: map[string]*flameNode{}}
	for _, s := range p.Sample {
		v := s.Value[si]
		if v == 0 {
			continue
		}
		root.value += v
		n := root
		for i := len(s.Location) - 1; i >= 0; i-- {
			lines := s.Location[i].Line
			for j := len(lines) - 1; j >= 0; j-- {
				n = n.child(lines[j].Function)
				n.value += v
			}
		}
	}
	return root
}

// SVGOptions sets up a static flame graph.
type SVGOptions struct {
	SampleType string               // "cpu", "alloc_space", ...
	Format     func(v int64) string // a value as the titles show it
	Width      int                  // in SVG units; 0 for 1200
	MaxDepth   int                  // rows below the root; 0 for 60
	// Base, when set, makes a difference flame graph: the frames are
	// those of the profile, coloured by how much each grew (red) or
	// shrank (blue) against the same path in Base.
	Base *profile.Profile
}

// defaultSVGWidth is the width of a flame graph SVG, in SVG units.
const defaultSVGWidth = 1200

// FlameSVG draws a static flame graph (an icicle: the root on top, callees
// below) of one sample type as a self-contained SVG element: rectangles
// with labels where they fit and a <title> on each for hovering. It needs
// no script, so it shows where notebook viewers strip scripts.
func FlameSVG(p *profile.Profile, opts SVGOptions) (string, error) {
	si, err := sampleIndex(p, opts.SampleType)
	if err != nil {
		return "", err
	}
	if opts.Width == 0 {
		opts.Width = defaultSVGWidth
	}
	if opts.MaxDepth == 0 {
		opts.MaxDepth = 60
	}
	if opts.Format == nil {
		opts.Format = func(v int64) string { return fmt.Sprint(v) }
	}
	root := buildFlameTree(p, si)
	var baseRoot *flameNode
	if opts.Base != nil {
		bi, err := sampleIndex(opts.Base, opts.SampleType)
		if err != nil {
			return "", err
		}
		baseRoot = buildFlameTree(opts.Base, bi)
	}
	sd := &svgDrawer{opts: opts, total: float64(root.value), diff: baseRoot != nil}
	if root.value == 0 {
		return `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="20"><text x="2" y="14" font-size="12" fill="#888">no samples</text></svg>`, nil
	}
	sd.draw(root, baseRoot, 0, float64(opts.Width), 0)
	h := (sd.depth + 1) * svgRow
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" style="max-width:%dpx;display:block" font-family="ui-monospace,Menlo,Consolas,monospace" font-size="11" fill="#111">
%s</svg>`, opts.Width, h, opts.Width, sd.body.String()), nil
}

// Geometry of the static flame graph.
const (
	svgRow   = 18  // height of a frame
	svgCharW = 6.6 // width of a character at font-size 11, monospace
)

// svgDrawer writes the frames of a static flame graph.
type svgDrawer struct {
	opts  SVGOptions
	total float64
	diff  bool // a difference flame graph
	depth int  // deepest row drawn
	body  strings.Builder
}

// draw writes node n, x to x+w on row d, and its children below it; base
// is the same path in the base profile of a difference (nil if absent).
func (sd *svgDrawer) draw(n, base *flameNode, x, w float64, d int) {
	if w < 0.5 || d > sd.opts.MaxDepth {
		return
	}
	sd.depth = max(sd.depth, d)
	y := d * svgRow
	format := sd.opts.Format
	label := shortName(n.name)
	title := fmt.Sprintf("%s\n%s, %.2f%%", n.name, format(n.value), 100*float64(n.value)/sd.total)
	if n.cell >= 0 {
		label += " " + cell.File(n.cell)
		title = fmt.Sprintf("%s (%s)\n%s, %.2f%%", n.name, cell.File(n.cell), format(n.value), 100*float64(n.value)/sd.total)
	}
	if d == 0 {
		label = "all: " + format(n.value)
		title = "all samples\n" + format(n.value)
	}
	fill := flameColor(n, d)
	if sd.diff {
		var was int64
		if base != nil {
			was = base.value
		}
		title += fmt.Sprintf("\n%s than the base (%s)", signed(n.value-was, format), format(was))
		fill = diffColor(n.value, was)
	}
	fmt.Fprintf(&sd.body, `<g><title>%s</title><rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"/>`,
		html.EscapeString(title), x, y, max(w-0.6, 0.4), svgRow-1, fill)
	if w > 3*svgCharW {
		if r, nc := []rune(label), int((w-6)/svgCharW); len(r) > nc {
			label = string(r[:max(nc-1, 1)]) + "…"
		}
		fmt.Fprintf(&sd.body, `<text x="%.1f" y="%d">%s</text>`, x+3, y+13, html.EscapeString(label))
	}
	sd.body.WriteString("</g>\n")
	kids := make([]*flameNode, 0, len(n.children))
	for _, c := range n.children {
		kids = append(kids, c)
	}
	// Widest first, as pprof draws them; ties by name, for stable output.
	slices.SortFunc(kids, func(a, b *flameNode) int {
		return cmp.Or(cmp.Compare(b.value, a.value), cmp.Compare(a.name, b.name))
	})
	cx := x
	for _, c := range kids {
		cw := w * float64(c.value) / float64(n.value)
		var cb *flameNode
		if base != nil {
			cb = base.children[c.name]
		}
		sd.draw(c, cb, cx, cw, d+1)
		cx += cw
	}
}

// shortName drops the import path from a function name:
// internal/runtime/syscall.Syscall6 → syscall.Syscall6.
func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// flameColor picks a fill by category (cell code blue, other Go code
// green, runtime orange, system red), its lightness varying with the name
// so that neighbours differ. Fills are light enough for dark text and
// opaque, so the graph reads on light and dark pages alike.
func flameColor(n *flameNode, d int) string {
	if d == 0 {
		return "hsl(220,10%,78%)"
	}
	h := fnv.New32a()
	h.Write([]byte(n.name))
	l := 62 + int(h.Sum32()%14)
	switch {
	case n.cell >= 0:
		return fmt.Sprintf("hsl(217,85%%,%d%%)", l)
	case n.cat == CatRuntime:
		return fmt.Sprintf("hsl(35,90%%,%d%%)", l)
	case n.cat == CatSystem:
		return fmt.Sprintf("hsl(0,80%%,%d%%)", l+2)
	}
	return fmt.Sprintf("hsl(150,45%%,%d%%)", l)
}

// signed formats a difference with its sign: "+0.25 s more", "-1.0 KiB less".
func signed(v int64, format func(int64) string) string {
	if v < 0 {
		return "-" + format(-v) + " less"
	}
	return "+" + format(v) + " more"
}

// diffColor colours a frame of a difference flame graph: red where it
// grew against the base, blue where it shrank, stronger the larger the
// change relative to the frame, grey where it did not change.
func diffColor(now, was int64) string {
	if now == was {
		return "hsl(220,10%,82%)"
	}
	rel := float64(now-was) / float64(max(now, was))
	hue := 0
	if rel < 0 {
		hue, rel = 215, -rel
	}
	return fmt.Sprintf("hsl(%d,%d%%,%d%%)", hue, 40+int(50*rel), 82-int(22*rel))
}
