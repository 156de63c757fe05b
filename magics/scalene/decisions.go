package scalene

import (
	"bufio"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"go/scanner"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics"
)

// CompilerFlags are the compiler flags of a profiled build that make the
// compiler report its decisions: inlining with its reasons and escape
// analysis with its explanations (-m=2), and the bounds checks that
// survive (-d=ssa/check_bce/debug=1). Neither changes the code generated,
// so the binary profiled is the binary they describe.
var CompilerFlags = []string{"-m=2", "-d=ssa/check_bce/debug=1"}

// DecisionKind says what kind of decision the compiler reported.
type DecisionKind int

// The kinds of decisions shown, in the order of their markers.
const (
	Inlined     DecisionKind = iota // a call on this line was inlined
	NotInlined                      // the function declared here cannot be inlined (reason given)
	Inlinable                       // the function declared here can be inlined (cost given)
	Heap                            // a value escapes, or a variable is moved, to the heap
	Leak                            // a parameter leaks (to the heap or to a result)
	NoEscape                        // a value stays on the stack
	BoundsCheck                     // a bounds check survives
	Other                           // anything else the compiler said about the line
)

// decisionKinds lists the kinds with their markers and legend, in marker
// order.
var decisionKinds = []struct {
	marker, legend string
}{
	Inlined:     {"I", "a call inlined here"},
	NotInlined:  {"N", "function cannot be inlined (the compiler's reason on hover)"},
	Inlinable:   {"i", "function can be inlined"},
	Heap:        {"H", "escapes / moved to the heap"},
	Leak:        {"L", "parameter leaks"},
	NoEscape:    {"s", "stays on the stack"},
	BoundsCheck: {"B", "bounds check left in"},
	Other:       {"*", "another compiler remark"},
}

// Marker is the kind's one-letter marker in the line table.
func (k DecisionKind) Marker() string { return decisionKinds[k].marker }

// Decision is one thing the compiler reported about a line.
type Decision struct {
	Kind DecisionKind
	Text string // the compiler's words: "cannot inline big: function too complex: cost 95 exceeds budget 80"
	// Detail holds the compiler's explanation, when it gave one (the
	// flow of an escape at -m=2).
	Detail []string
}

// Decisions are the compiler's decisions on cell lines.
type Decisions struct {
	Lines map[cell.Pos][]Decision
	// Note says why some or all of the compiler's output could not be
	// read; the decisions that could be read are kept.
	Note string
}

// Markers returns the markers of line k's decisions, in legend order,
// once each: "IH".
func (d *Decisions) Markers(k cell.Pos) string {
	if d == nil {
		return ""
	}
	var kinds []DecisionKind
	for _, dec := range d.Lines[k] {
		if !slices.Contains(kinds, dec.Kind) {
			kinds = append(kinds, dec.Kind)
		}
	}
	slices.Sort(kinds)
	var b strings.Builder
	for _, k := range kinds {
		b.WriteString(k.Marker())
	}
	return b.String()
}

// Summary returns line k's decisions as lines of text, a repeated
// decision once with its count: "Found IsInBounds (×3)".
func (d *Decisions) Summary(k cell.Pos) []string {
	if d == nil {
		return nil
	}
	var out []string
	counts := map[string]int{}
	for _, dec := range d.Lines[k] {
		if counts[dec.Text]++; counts[dec.Text] == 1 {
			out = append(out, dec.Text)
		}
	}
	for i, t := range out {
		if n := counts[t]; n > 1 {
			out[i] = fmt.Sprintf("%s (×%d)", t, n)
		}
	}
	return out
}

// Explained returns line k's decisions as Summary does, each followed by
// the compiler's explanation, indented: the full text a marker shows on
// hovering.
func (d *Decisions) Explained(k cell.Pos) []string {
	out := d.Summary(k)
	if d == nil {
		return out
	}
	for _, dec := range d.Lines[k] {
		if len(dec.Detail) == 0 {
			continue
		}
		for i, t := range out {
			if t == dec.Text {
				lines := []string{t}
				for _, l := range dec.Detail {
					lines = append(lines, "    "+l)
				}
				out[i] = strings.Join(lines, "\n")
			}
		}
	}
	return out
}

// Legend explains the markers that appear in lines.
func Legend(used string) string {
	var parts []string
	for _, k := range decisionKinds {
		if strings.Contains(used, k.marker) {
			parts = append(parts, k.marker+" "+k.legend)
		}
	}
	return strings.Join(parts, ", ")
}

func (d *Decisions) add(k cell.Pos, dec Decision) {
	if d.Lines == nil {
		d.Lines = map[cell.Pos][]Decision{}
	}
	d.Lines[k] = append(d.Lines[k], dec)
}

// classify gives the kind of a compiler message, and the message as
// shown: -m=2 says "x escapes to heap in F:" before explaining the flow,
// which reads as "x escapes to heap".
func classify(msg string) (DecisionKind, string, bool) {
	msg = strings.TrimSpace(msg)
	if m := escapesIn.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	}
	switch {
	case strings.HasSuffix(msg, "will be kept alive"):
		return 0, "", false // testing.B.Loop's own keep-alive, not the cell's
	case strings.HasPrefix(msg, "inlining call to "):
		return Inlined, msg, true
	case strings.HasPrefix(msg, "cannot inline"):
		return NotInlined, msg, true
	case strings.HasPrefix(msg, "can inline "):
		// -m=2 appends the inlined body ("as: func() {...}"), too long
		// for a table.
		msg, _, _ = strings.Cut(msg, " as: ")
		return Inlinable, msg, true
	case strings.HasPrefix(msg, "moved to heap: "), strings.HasSuffix(msg, "escapes to heap"):
		return Heap, msg, true
	case strings.HasPrefix(msg, "leaking param"):
		return Leak, msg, true
	case strings.HasSuffix(msg, "does not escape"):
		return NoEscape, msg, true
	case strings.HasPrefix(msg, "Found Is") && strings.HasSuffix(msg, "InBounds"):
		return BoundsCheck, "bounds check: " + msg, true
	}
	return Other, msg, true
}

var (
	// otherPos is a message about a file that is not a cell's: the
	// generated code, _testmain.go, <autogenerated>.
	otherPos  = regexp.MustCompile(`^[^\s:]+:\d+(?::\d+)?: `)
	escapesIn = regexp.MustCompile(`^(.* escapes to heap) in \S+:$`)
)

// ParseCompilerText reads the compiler's -m=2 and check_bce output, as go
// build prints it: "In[3]:5: moved to heap: x", an indented explanation
// under some messages, "# package" headers, and messages about files that
// are not cells (the generated code around them), which are skipped. The
// positions are already cell lines: the generated program's //line
// directives map them. Lines that fit none of these are counted in Note.
func ParseCompilerText(out string) *Decisions {
	d := &Decisions{}
	var last *Decision
	var lastKey cell.Pos
	unread := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		pos, msg, ok := cell.CutPos(l)
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "# "):
			continue
		case !ok && otherPos.MatchString(l):
			last = nil
			continue
		case !ok:
			unread++
			continue
		}
		k := cell.Pos{Cell: pos.Cell, Line: pos.Line}
		if strings.HasPrefix(msg, " ") && last != nil && k == lastKey {
			last.Detail = append(last.Detail, strings.TrimSpace(msg))
			continue
		}
		kind, text, ok := classify(msg)
		if !ok {
			last = nil
			continue
		}
		d.add(k, Decision{Kind: kind, Text: text})
		lines := d.Lines[k]
		last, lastKey = &lines[len(lines)-1], k
	}
	d.dedupe()
	if unread > 0 {
		d.Note = magics.Plural(strconv.Itoa(unread), "line") + " of the compiler's output could not be read"
	}
	return d
}

// dedupe merges a decision reported twice in different words' explanation
// (-m=2 reports an escape once with its flow and once without), keeping
// the explanation.
func (d *Decisions) dedupe() {
	for k, decs := range d.Lines {
		var out []Decision
		for _, dec := range decs {
			i := slices.IndexFunc(out, func(o Decision) bool {
				return o.Text == dec.Text && o.Kind != BoundsCheck && (len(o.Detail) == 0 || len(dec.Detail) == 0)
			})
			if i < 0 {
				out = append(out, dec)
				continue
			}
			out[i].Detail = append(out[i].Detail, dec.Detail...)
		}
		d.Lines[k] = out
	}
}

// notInlined returns the functions the compiler could not inline, by
// name, with its reason: "big" → "function too complex: cost 95 exceeds
// budget 80". A method's name is its last part ("(*T).m" → "m").
func (d *Decisions) notInlined() map[string]string {
	names := map[string]string{}
	for _, decs := range d.Lines {
		for _, dec := range decs {
			rest, ok := strings.CutPrefix(dec.Text, "cannot inline ")
			if dec.Kind != NotInlined || !ok {
				continue
			}
			name, reason, ok := strings.Cut(rest, ": ")
			if !ok {
				continue
			}
			if i := strings.LastIndex(name, "."); i >= 0 {
				name = name[i+1:]
			}
			names[name] = reason
		}
	}
	return names
}

// withCallSites returns a copy of d in which the lines of rows that call
// a function the compiler could not inline say so, with its reason: the
// compiler reports the decision once, where the function is declared,
// and the reader looks at the call. Calls are found with go/scanner (a
// name followed by "(", not after func).
func (d *Decisions) withCallSites(rows []Row) *Decisions {
	if d == nil {
		return nil
	}
	names := d.notInlined()
	out := &Decisions{Note: d.Note, Lines: maps.Clone(d.Lines)}
	if len(names) == 0 {
		return out
	}
	for _, r := range rows {
		if r.Gap || r.Outside || r.Source == "" {
			continue
		}
		for _, name := range calls(r.Source) {
			if reason, ok := names[name]; ok {
				out.Lines[r.Key] = append(slices.Clip(out.Lines[r.Key]),
					Decision{Kind: NotInlined, Text: fmt.Sprintf("call to %s not inlined: %s", name, reason)})
			}
		}
	}
	return out
}

// calls returns the names called on a line of Go source, each once.
func calls(line string) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(line)), []byte(line), nil, 0)
	var names []string
	prev, prevLit := token.ILLEGAL, ""
	before := token.ILLEGAL
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return names
		}
		if tok == token.LPAREN && prev == token.IDENT && before != token.FUNC && !slices.Contains(names, prevLit) {
			names = append(names, prevLit)
		}
		before, prev, prevLit = prev, tok, lit
	}
}
