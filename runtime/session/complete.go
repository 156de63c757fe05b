package session

import (
	"go/token"
	"go/types"
	"sort"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// keywords lists Go's keywords.
func keywords() []string {
	var kw []string
	for t := token.BREAK; t <= token.VAR; t++ {
		if t.IsKeyword() {
			kw = append(kw, t.String())
		}
	}
	return kw
}

// candidate is one completion with its kind for Jupyter's type metadata.
type candidate struct {
	text, kind string
}

// Complete completes the identifier or selector before the cursor (in code
// points): magic names after % at the start of a line, standard-library
// import paths inside an import's quotes, members of a package after
// pkg., methods of a type declared in a cell after T., fields and methods
// after v. where v is a variable of such a type, and otherwise
// package names, names declared in earlier cells, keywords and
// predeclared identifiers. Matches are sorted; CursorStart..CursorEnd is
// the text they replace.
func (s *Session) Complete(code string, cursor int) protocol.Completion {
	r := []rune(code)
	if cursor < 0 || cursor > len(r) {
		cursor = len(r)
	}
	before := string(r[:cursor])
	line := before[strings.LastIndexByte(before, '\n')+1:]
	cands, start := s.candidates(r, cursor, line, code)
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].text < cands[j].text })
	matches := make([]string, 0, len(cands))
	types := make([]map[string]any, 0, len(cands))
	seen := make(map[string]bool)
	for _, c := range cands {
		if seen[c.text] {
			continue
		}
		seen[c.text] = true
		matches = append(matches, c.text)
		types = append(types, map[string]any{"start": start, "end": cursor, "text": c.text, "type": c.kind})
	}
	return protocol.Completion{
		Matches:     matches,
		CursorStart: start,
		CursorEnd:   cursor,
		Metadata:    map[string]any{"_jupyter_types_experimental": types},
	}
}

// candidates returns the completions at cursor and where the text they
// replace starts.
func (s *Session) candidates(r []rune, cursor int, line, code string) ([]candidate, int) {
	std := s.docs.std.get(s.docs.gorootDir)

	// %magic at the start of a line.
	if t := strings.TrimLeft(line, " \t"); strings.HasPrefix(t, "%") && !strings.ContainsAny(t, " \t") {
		return s.magicCandidates(t), cursor - len([]rune(t))
	}

	// An import path inside quotes.
	if partial, ok := importPathPrefix(line, code, len(before(r, cursor))-len(line)); ok {
		return withPrefix(nil, std.paths, partial, "path"), cursor - len([]rune(partial))
	}
	if inStringOrComment(line) {
		return nil, cursor
	}

	start := cursor
	for start > 0 && isIdentRune(r[start-1]) {
		start--
	}
	partial := string(r[start:cursor])
	if start > 0 && r[start-1] == '.' {
		// A selector X.partial, X any expression.
		xStart := exprStart(r, start-1)
		if xStart == start-1 {
			return nil, start
		}
		return s.selectorCandidates(string(r[xStart:start-1]), partial, code), start
	}
	if partial == "" {
		return nil, cursor
	}
	return s.nameCandidates(std, partial, code), start
}

// magicCandidates returns the magics that complete t, a %name or %%name
// prefix.
func (s *Session) magicCandidates(t string) []candidate {
	partial := strings.TrimLeft(t, "%")
	pct := t[:len(t)-len(partial)]
	var out []candidate
	for _, m := range s.opts.Magics.Listing().Magics {
		usable := m.Line
		if pct == "%%" {
			usable = m.Cell
		}
		if usable && strings.HasPrefix(m.Name, partial) {
			out = append(out, candidate{pct + m.Name, "magic"})
		}
	}
	return out
}

// selectorCandidates returns the members of x, a value of the session or
// a package a cell can name, that start with partial.
func (s *Session) selectorCandidates(x, partial, code string) []candidate {
	var out []candidate
	if members, ok := s.members(x); ok {
		for _, m := range members {
			if strings.HasPrefix(m.text, partial) {
				out = append(out, m)
			}
		}
		return out
	}
	if path, ok := packagePath(x, s.imports(code)); ok {
		for _, m := range s.packageMembers(path) {
			if strings.HasPrefix(m.text, partial) {
				out = append(out, m)
			}
		}
	}
	return out
}

// nameCandidates returns the names that start with partial: the session's
// names, standard packages, the cell's import aliases, keywords and
// predeclared functions.
func (s *Session) nameCandidates(std *stdIndex, partial, code string) []candidate {
	s.mu.Lock()
	stored := s.store.Names()
	s.mu.Unlock()
	out := withPrefix(nil, stored, partial, "instance")
	out = withPrefix(out, std.names, partial, "module")
	var aliases []string
	for a := range s.imports(code) {
		aliases = append(aliases, a)
	}
	out = withPrefix(out, aliases, partial, "module")
	out = withPrefix(out, keywords(), partial, "keyword")
	return withPrefix(out, types.Universe.Names(), partial, "function")
}

// withPrefix appends to out the names that start with partial, as
// candidates of kind.
func withPrefix(out []candidate, names []string, partial, kind string) []candidate {
	for _, n := range names {
		if strings.HasPrefix(n, partial) {
			out = append(out, candidate{n, kind})
		}
	}
	return out
}

func before(r []rune, cursor int) string { return string(r[:cursor]) }

// exprStart returns where the operand that ends at end (before a '.')
// starts: identifiers, selectors, index expressions and calls, as in
// sample[0].Inner or f(x).
func exprStart(r []rune, end int) int {
	i, depth := end, 0
	for i > 0 {
		c := r[i-1]
		switch {
		case c == ')' || c == ']':
			depth++
		case (c == '(' || c == '[') && depth > 0:
			depth--
		case depth > 0 || isIdentRune(c) || c == '.':
		default:
			return i
		}
		i--
	}
	return i
}

// importPathPrefix reports whether the cursor, at the end of line, is
// inside the quotes of an import path, and the path typed so far. lineOff
// is the byte offset of line in code.
func importPathPrefix(line, code string, lineOff int) (string, bool) {
	q := strings.LastIndexByte(line, '"')
	if q < 0 || strings.Count(line, `"`)%2 == 0 {
		return "", false
	}
	head := strings.Fields(line[:q])
	switch {
	case len(head) >= 1 && head[0] == "import" && len(head) <= 2:
		return line[q+1:], true
	case len(head) <= 1 && inImportBlock(code[:lineOff]):
		return line[q+1:], true
	}
	return "", false
}

// inImportBlock reports whether text ends inside an import ( ... ) block.
func inImportBlock(text string) bool {
	i := strings.LastIndex(text, "import (")
	if i < 0 {
		i = strings.LastIndex(text, "import(")
	}
	return i >= 0 && !strings.Contains(text[i:], ")")
}

// inStringOrComment reports whether the end of line is inside an
// interpreted string, a rune literal or a // comment (a rough check).
func inStringOrComment(line string) bool {
	inStr := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inStr != 0:
			if c == '\\' {
				i++
			} else if c == inStr {
				inStr = 0
			}
		case c == '"' || c == '\'' || c == '`':
			inStr = c
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return true
		}
	}
	return inStr != 0
}
