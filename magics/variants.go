package magics

import (
	"go/scanner"
	"go/token"
	"strings"
	"unicode"

	"github.com/perfnb/perfnb/runtime/native"
)

// Variant is one labelled variant of a comparison ("fast: f(x)").
type Variant struct {
	Label string
	Body  native.Snippet // the statement after the label, and its continuation lines
}

// labelLine splits "label: statement" into its label and the column (0-based
// byte offset) where the statement starts; a label alone on its line is
// not a variant's. Go's labels (those a jump names) are for the caller to
// leave out.
func labelLine(line string) (label string, stmtAt int, ok bool) {
	i := 0
	for i < len(line) {
		c := rune(line[i])
		if c == '_' || unicode.IsLetter(c) || i > 0 && unicode.IsDigit(c) {
			i++
			continue
		}
		break
	}
	if i == 0 || i >= len(line) || line[i] != ':' || strings.HasPrefix(line[i:], ":=") {
		return "", 0, false
	}
	j := i + 1
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	stmt := line[j:]
	if strings.TrimSpace(stmt) == "" {
		return "", 0, false
	}
	return line[:i], j, true
}

// ParseVariants splits a cell magic's body (%%timeit's, %%scalene's) into
// labelled variants. The rule: a body is a comparison when its first line
// of code (blank lines and // comments aside) is "label: statement", with
// the label at the start of the line and not one of Go's (a label that a
// goto, break or continue names; Go refuses a label it never uses). Each
// such line starts a variant; the lines after it, up to the next one,
// continue it. It returns nil for a body that is not a comparison.
func ParseVariants(body string, cellNo, bodyLine int) ([]Variant, error) {
	lines := strings.Split(body, "\n")
	var vs []Variant
	var cur []string
	flush := func() {
		if len(vs) > 0 {
			vs[len(vs)-1].Body.Source = strings.TrimRight(strings.Join(cur, "\n"), " \t\r\n")
		}
	}
	jumps := jumpTargets(body)
	seen := map[string]bool{}
	for i, l := range lines {
		label, at, ok := labelLine(l)
		if !ok || jumps[label] {
			t := strings.TrimSpace(l)
			if len(vs) == 0 {
				if t == "" || strings.HasPrefix(t, "//") {
					continue
				}
				return nil, nil // code before the first label: not a comparison
			}
			cur = append(cur, l)
			continue
		}
		if seen[label] {
			return nil, UsageError("the variant label %q is used twice", label)
		}
		seen[label] = true
		flush()
		vs = append(vs, Variant{Label: label, Body: native.Snippet{Cell: cellNo, Line: bodyLine + i, Col: at + 1}})
		cur = []string{l[at:]}
	}
	flush()
	return vs, nil
}

// jumpTargets returns the labels that the goto, break and continue
// statements of body name: Go's labels.
func jumpTargets(body string) map[string]bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(body)), []byte(body), nil, 0)
	targets := map[string]bool{}
	jump := false
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return targets
		}
		if tok == token.IDENT && jump {
			targets[lit] = true
		}
		jump = tok == token.GOTO || tok == token.BREAK || tok == token.CONTINUE
	}
}
