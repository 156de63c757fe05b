package magics

import (
	"strings"
)

// Doc documents a magic from its declarations: what it does, how it is
// called and its options (an OptionSet, the one that parses its calls).
// Its String is the magic's Doc: %name? shows it whole, %lsmagic its
// summary and usage lines.
type Doc struct {
	// Summary says in one line what the magic does.
	Summary string
	// Usage are the ways to call it, one a line, each with "[options]"
	// where the options go: "%timeit [options] statement".
	Usage []string
	// Options are the magic's options; nil for none.
	Options *OptionSet
	// More are further paragraphs: how it measures, where files go.
	More []string
}

// String lays the documentation out as text: the summary, the usage
// lines with the options' synopsis, the options with their defaults,
// then More.
func (d Doc) String() string {
	var b strings.Builder
	b.WriteString(d.Summary + "\n")
	if len(d.Usage) > 0 {
		b.WriteString("\n")
		for _, u := range d.usage() {
			b.WriteString("  " + u + "\n")
		}
	}
	if d.Options != nil && len(d.Options.opts) > 0 {
		b.WriteString("\nOptions:\n" + d.Options.Help())
	}
	for _, m := range d.More {
		b.WriteString("\n" + m + "\n")
	}
	return b.String()
}

// synopsisWidth is the longest usage line with the options spelled out;
// a longer one keeps "[options]", listed below it.
const synopsisWidth = 80

// usage returns the usage lines, with the synopsis of the options in
// place of "[options]" where the line stays short enough.
func (d Doc) usage() []string {
	syn := ""
	if d.Options != nil {
		syn = d.Options.Synopsis()
	}
	var out []string
	for _, u := range d.Usage {
		if long := strings.ReplaceAll(u, "[options]", syn); len(long) <= synopsisWidth {
			u = long
		}
		out = append(out, strings.Join(strings.Fields(u), " "))
	}
	return out
}

// summaryAndUsage reads back a Doc's String: its first line, and the
// indented lines of its first paragraph after it. A magic whose Doc is
// one plain line has no usage lines.
func summaryAndUsage(doc string) (string, []string) {
	summary, rest, _ := strings.Cut(doc, "\n")
	rest = strings.TrimPrefix(rest, "\n")
	var usage []string
	for _, l := range strings.Split(rest, "\n") {
		u, ok := strings.CutPrefix(l, "  %")
		if !ok {
			break
		}
		usage = append(usage, "%"+u)
	}
	return summary, usage
}
