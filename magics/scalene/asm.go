package scalene

import (
	"cmp"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"html/template"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics/pprofdriver"
)

// maxInstructions caps the instructions shown for one line.
const maxInstructions = 40

// Assembly is the machine code of the hottest cell lines, with the CPU
// samples of each instruction, as pprof's disasm report gives them.
type Assembly struct {
	Binary string
	Lines  []AsmLine // hottest first
	Note   string    // why some or all of it is missing
}

// AsmLine is one cell line and its instructions.
type AsmLine struct {
	Key     cell.Pos
	Source  string
	Self    string // the line's self CPU share
	Instrs  []AsmInstr
	Omitted int // instructions left out beyond maxInstructions
}

// AsmInstr is one instruction: its address, its text and its flat
// samples as pprof formats them ("20ms", "." for none).
type AsmInstr struct {
	Flat, Addr, Text string
}

// hottest returns the n rows with the most self CPU time, hottest first.
func hottest(rows []Row, n int) []Row {
	var hot []Row
	for _, r := range rows {
		if !r.Gap && !r.Outside && r.Stats.CPUSelf() > 0 {
			hot = append(hot, r)
		}
	}
	slices.SortStableFunc(hot, func(a, b Row) int { return cmp.Compare(b.Stats.CPUSelf(), a.Stats.CPUSelf()) })
	return hot[:min(n, len(hot))]
}

// Assembly disassembles the functions holding the n hottest lines of
// rows with pprof (-disasm, which reads the binary the profile names)
// and keeps the instructions of those lines. It never fails: what it
// cannot do, it says in Note.
func (r *Result) Assembly(att *Attribution, rows []Row, n int) *Assembly {
	a := &Assembly{Binary: r.Binary}
	hot := hottest(rows, n)
	if len(hot) == 0 {
		a.Note = "no line of the cell has CPU samples of its own"
		return a
	}
	want := map[cell.Pos]int{}
	tot := att.Total.CPUSelf()
	for i, h := range hot {
		want[h.Key] = i
		a.Lines = append(a.Lines, AsmLine{Key: h.Key, Source: h.Source, Self: cmp.Or(share(h.Stats.CPUSelf(), tot), "<1%")})
	}
	// The symbols holding the hot lines: the outermost function of each
	// location whose innermost cell line is hot (inlined code lives in
	// its caller's symbol).
	var syms []string
	for _, s := range r.CPU.Sample {
		k, ok := att.CellLine(s)
		if _, hotLine := want[k]; !ok || !hotLine || len(s.Location) == 0 {
			continue
		}
		for _, loc := range s.Location {
			if len(loc.Line) == 0 {
				continue
			}
			fn := loc.Line[len(loc.Line)-1].Function
			if fn == nil || fn.Name == "runtime.asyncPreempt" {
				continue // the preemption's frame, see leafFunction
			}
			if q := regexp.QuoteMeta(fn.Name); !slices.Contains(syms, q) {
				syms = append(syms, q)
			}
			break
		}
	}
	// Not anchored: pprof matches the regexp against more than the bare
	// symbol name (anchors find nothing). Extra symbols cost little, since
	// only the hot lines' instructions are kept.
	out, err := pprofdriver.Report(pprofdriver.Profiles{Profile: r.CPU}, "-disasm="+strings.Join(syms, "|"))
	if err != nil {
		a.Note = "pprof could not disassemble the binary: " + err.Error()
		return a
	}
	for _, in := range parseDisasm(out) {
		if i, ok := want[in.key]; ok {
			l := &a.Lines[i]
			if len(l.Instrs) < maxInstructions {
				l.Instrs = append(l.Instrs, in.AsmInstr)
			} else {
				l.Omitted++
			}
		}
	}
	return a
}

// disasmInstr is an instruction of pprof's disasm report with the cell
// line it belongs to.
type disasmInstr struct {
	AsmInstr
	key cell.Pos
}

var (
	// disasmLine is an instruction: flat, cum, address, text.
	disasmLine = regexp.MustCompile(`^\s*(\S+)\s+(\S+)\s+([0-9a-f]+): (.*)$`)
	// disasmLoc is a location annotation: ";function file:line".
	disasmLoc = regexp.MustCompile(`;\S+ (\S+):(\d+)$`)
)

// parseDisasm reads pprof's disasm report. An instruction carries its
// location after a ";" when the location changed, or on a line of its own
// just before it when the instruction is long; the location holds until
// the next one.
func parseDisasm(out string) []disasmInstr {
	var ins []disasmInstr
	var cur cell.Pos
	loc := func(s string) (string, bool) {
		m := disasmLoc.FindStringSubmatchIndex(s)
		if m == nil {
			return s, false
		}
		cur = cell.Pos{}
		if n, ok := cell.ParseFile(s[m[2]:m[3]]); ok {
			l, _ := strconv.Atoi(s[m[4]:m[5]])
			cur = cell.Pos{Cell: n, Line: l}
		}
		return strings.TrimSpace(s[:m[0]]), true
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "ROUTINE ") {
			cur = cell.Pos{}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(l), ";") {
			loc(strings.TrimSpace(l))
			continue
		}
		m := disasmLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		text, _ := loc(m[4])
		ins = append(ins, disasmInstr{AsmInstr{Flat: m[1], Addr: m[3], Text: strings.Join(strings.Fields(text), " ")}, cur})
	}
	return ins
}

// Text renders the assembly for text/plain.
func (a *Assembly) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Assembly of the %d hottest lines (self CPU; pprof -disasm of %s):\n", len(a.Lines), a.Binary)
	if a.Note != "" {
		fmt.Fprintf(&b, "  (%s)\n", a.Note)
	}
	for _, l := range a.Lines {
		fmt.Fprintf(&b, "%s  %s  %s\n", l.Key, l.Self, strings.TrimSpace(strings.ReplaceAll(l.Source, "\t", " ")))
		for _, in := range l.Instrs {
			fmt.Fprintf(&b, "  %8s  %s: %s\n", in.Flat, in.Addr, in.Text)
		}
		if l.Omitted > 0 {
			fmt.Fprintf(&b, "  … %d more instructions\n", l.Omitted)
		}
		if len(l.Instrs) == 0 {
			b.WriteString("  (no instructions found for this line)\n")
		}
	}
	return b.String()
}

var asmTemplate = template.Must(template.New("asm").Parse(`<details class="perfnb-asm" open style="margin-top:8px">
<summary style="cursor:pointer;font-weight:bold;font-size:13px">Assembly of the {{len .Lines}} hottest lines (self CPU)</summary>
<div style="font-size:11px;opacity:.8">pprof -disasm of <code>{{.Binary}}</code>{{if .Note}}: {{.Note}}{{end}}</div>
{{- range .Lines}}
<div style="margin-top:6px;font-size:12px"><b>{{.Key}}</b> {{.Self}} <code style="white-space:pre">{{.Source}}</code></div>
<pre style="margin:2px 0 0 16px;font-size:11px;line-height:1.3">
{{- range .Instrs}}{{printf "%8s" .Flat}}  {{.Addr}}: {{.Text}}
{{end}}{{if .Omitted}}… {{.Omitted}} more instructions
{{end}}{{if not .Instrs}}(no instructions found for this line){{end}}</pre>
{{- end}}
</details>`))

// HTML renders the assembly as an HTML fragment.
func (a *Assembly) HTML() template.HTML {
	var b strings.Builder
	if err := asmTemplate.Execute(&b, a); err != nil {
		return template.HTML(template.HTMLEscapeString(err.Error()))
	}
	return template.HTML(b.String())
}
