package prun

import (
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics/pprofdriver"
)

// Report is pprof's top report of a profile.
type Report struct {
	Header []string // pprof's lines above the table: "Type: cpu", "Showing nodes ..."
	Rows   []Row
	Text   string // pprof's report as it printed it
	Path   string // the saved profile
}

// Row is one function of the report, its figures as pprof formats them.
type Row struct {
	Flat, FlatPct, SumPct, Cum, CumPct string
	Name                               string
}

// topRow is a row of pprof's top: five figures, then the name.
var topRow = regexp.MustCompile(`^\s*(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)\s+(\S+%)\s+(.*)$`)

// Top runs pprof's top report on p with the cell's functions under their
// cell names, sorted by cumulative time (by flat time when flat is set),
// limited to limit rows when limit > 0.
func Top(p *profile.Profile, count int, flat bool, limit int) (*Report, error) {
	flags := []string{"-top"}
	if !flat {
		flags = append(flags, "-cum")
	}
	if limit > 0 {
		flags = append(flags, "-nodecount="+strconv.Itoa(limit))
	}
	text, err := pprofdriver.Report(pprofdriver.Profiles{Profile: cellNames(p, count), Title: cell.File(count)}, flags...)
	if err != nil {
		return nil, err
	}
	r := &Report{Text: text}
	inTable := false
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch m := topRow.FindStringSubmatch(l); {
		case strings.Contains(l, "flat%") && strings.Contains(l, "cum%"):
			inTable = true
		case inTable && m != nil:
			r.Rows = append(r.Rows, Row{m[1], m[2], m[3], m[4], m[5], m[6]})
		case !inTable:
			r.Header = append(r.Header, l)
		}
	}
	return r, nil
}

// reportTemplate lays out the report. Its structure carries what
// matters, so that it reads the same where a notebook is shown through a
// sanitizer (which strips inline styles): pprof's header in a <pre>,
// figures in nowrap cells, function names left-aligned by <div
// align="left">; inline styles only refine spacing.
var reportTemplate = template.Must(template.New("prun").Parse(`<div class="perfnb-prun">
<pre style="margin:0 0 4px 0">{{range .Header}}{{.}}
{{end}}</pre>
<table style="border-collapse:collapse;font-size:12px"><thead><tr>{{range .Heads}}<th nowrap="nowrap" style="padding:2px 6px">{{.}}</th>{{end}}<th style="padding:2px 6px"><div align="left">function</div></th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td nowrap="nowrap" style="padding:1px 6px">{{.Flat}}</td><td nowrap="nowrap" style="padding:1px 6px">{{.FlatPct}}</td><td nowrap="nowrap" style="padding:1px 6px">{{.SumPct}}</td><td nowrap="nowrap" style="padding:1px 6px">{{.Cum}}</td><td nowrap="nowrap" style="padding:1px 6px">{{.CumPct}}</td><td style="padding:1px 6px"><div align="left"><code style="background:none">{{.Name}}</code></div></td></tr>
{{- end}}
</tbody></table>
{{- if .Path}}
<div style="margin-top:6px"><small>CPU profile: <code>{{.Path}}</code> (explore with <code>go tool pprof -http=: {{.Path}}</code>)</small></div>
{{- end}}
</div>`))

// Bundle is the report as a display bundle: pprof's text, and a table.
func (r *Report) Bundle() protocol.Bundle {
	text := r.Text
	if r.Path != "" {
		text += fmt.Sprintf("CPU profile: %s\nExplore with: go tool pprof -http=: %s\n", r.Path, r.Path)
	}
	var b strings.Builder
	data := struct {
		*Report
		Heads []string
	}{r, []string{"flat", "flat%", "sum%", "cum", "cum%"}}
	if err := reportTemplate.Execute(&b, data); err != nil {
		return protocol.Bundle{"text/plain": text}
	}
	return protocol.Bundle{"text/plain": text, "text/html": b.String()}
}
