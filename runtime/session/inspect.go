package session

import (
	"fmt"
	"go/token"
	"go/types"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// Inspect documents the identifier or selector under or just before the
// cursor (or, inside a call's parentheses, the function called): a
// standard-library package or member (signature and doc comment read from
// the Go sources), a name declared in an earlier cell (its source and the
// cell that declared it), a predeclared identifier, a keyword or a magic.
func (s *Session) Inspect(code string, cursor, detailLevel int) protocol.Inspection {
	for _, name := range []string{nameAt(code, cursor), callAt(code, cursor)} {
		if name == "" {
			continue
		}
		if text, found := s.describe(name, code, detailLevel); found {
			return protocol.Inspection{Found: true, Data: protocol.Bundle{"text/plain": text}, Metadata: map[string]any{}}
		}
	}
	return protocol.Inspection{Found: false, Data: protocol.Bundle{}, Metadata: map[string]any{}}
}

// help answers name? in a cell, as IPython's pager does.
func (s *Session) help(name string, detail int) (string, bool) {
	text, found := s.describe(name, "", detail)
	if !found {
		return fmt.Sprintf("Object `%s` not found.", name), false
	}
	return text, true
}

// describe documents name (an identifier, a selector such as fmt.Println
// or strings.Builder.WriteString, or %magic); code is the cell being
// edited, whose imports count.
func (s *Session) describe(name, code string, detail int) (string, bool) {
	if m, ok := strings.CutPrefix(name, "%"); ok {
		m = strings.TrimLeft(m, "%")
		if mg, ok := s.opts.Magics.Lookup(m); ok {
			return fmt.Sprintf("%%%s: %s", m, mg.Doc()), true
		}
		return "", false
	}
	parts := strings.Split(name, ".")
	imports := s.imports(code)

	// A name declared in a cell, or a method of a type declared in one.
	if d, ok := s.lookupDecl(name); ok {
		return declText(d), true
	}
	if len(parts) == 1 {
		if path, ok := packagePath(name, imports); ok {
			if pd, err := s.docs.pkg(path); err == nil {
				return pd.synopsis(detail), true
			}
			return fmt.Sprintf("package %s // import %q\n", name, path), true
		}
		if token.IsKeyword(name) {
			return fmt.Sprintf("%s is a Go keyword: https://go.dev/ref/spec#Keywords\n", name), true
		}
		if pd, err := s.docs.pkg("builtin"); err == nil {
			if text, ok := pd.member(parts, detail); ok {
				return text, true
			}
		}
		return "", false
	}
	path, ok := packagePath(parts[0], imports)
	if !ok || len(parts) > 3 {
		// x.M of a variable x of a type T declared in a cell: document
		// the method T.M, or else x.
		if d, ok := s.lookupDecl(parts[0]); ok {
			if len(parts) == 2 {
				typ := ""
				if d.Kind == cell.VarDecl {
					typ = s.typeName(parts[0])
				}
				if m, ok := s.lookupDecl(typ + "." + parts[1]); ok && typ != "" {
					return declText(m), true
				}
			}
			return declText(d), true
		}
		return "", false
	}
	pd, err := s.docs.pkg(path)
	if err != nil {
		if text, ok := displayMember(path, parts[1]); ok {
			return text, true
		}
		return s.typedMember(path, parts[1])
	}
	return pd.member(parts[1:], detail)
}

// displayMember documents name of the display package, which has no
// sources, from its symbols.
func displayMember(path, name string) (string, bool) {
	if path != display.ImportPath {
		return "", false
	}
	v, ok := display.New(func() protocol.Publisher { return nil }).Symbols()[name]
	if !ok {
		return "", false
	}
	sig := "?"
	if v.IsValid() {
		sig = v.Type().String()
	}
	return fmt.Sprintf("display.%s: %s\n\npackage display (%q), available in every cell without an import\n", name, sig, path), true
}

// typedMember documents name of the package at path, which a cell
// imported and GOROOT does not hold (a package of the notebook's
// modules), from its export data: its declaration as the compiler sees
// it.
func (s *Session) typedMember(path, name string) (string, bool) {
	pkg, ok := s.importedPackage(path)
	if !ok {
		return "", false
	}
	obj := pkg.Scope().Lookup(name)
	if obj == nil || !obj.Exported() {
		return "", false
	}
	return fmt.Sprintf("%s\n\npackage %s (%q)\n", types.ObjectString(obj, types.RelativeTo(pkg)), pkg.Name(), path), true
}

// importedPackage returns the package at path as the type checker reads
// it, when a cell imported it (so that nothing is fetched for it).
func (s *Session) importedPackage(path string) (*types.Package, bool) {
	s.mu.Lock()
	_, imported := s.store.Lookup(path)
	s.mu.Unlock()
	s.checkMu.Lock()
	c := s.checker
	s.checkMu.Unlock()
	if !imported || c == nil {
		return nil, false
	}
	pkg, err := c.Importer().Import(path)
	return pkg, err == nil
}

// lookupDecl finds a name declared in an earlier cell.
func (s *Session) lookupDecl(name string) (cell.Decl, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.store.Lookup(name)
	if ok && d.Kind == cell.ImportDecl {
		return cell.Decl{}, false
	}
	return d, ok
}

// declText documents a stored declaration: its source (doc comment
// included) and where it was declared.
func declText(d cell.Decl) string {
	return fmt.Sprintf("%s\n\ndeclared in %s, line %d\n", strings.TrimSpace(d.Source), cell.File(d.Cell), d.Line)
}

var importRE = regexp.MustCompile(`(?m)^\s*(?:import\s+)?(?:([\pL_][\pL\pN_]*|\.)\s+)?("[^"\n]+")\s*(?:\)\s*)?(?:;|//.*)?$`)

// autoImporter is implemented by an interpreter that imports standard
// packages on first use.
type autoImporter interface {
	// AutoImports maps the names of the packages imported on first use
	// to their paths.
	AutoImports() map[string]string
}

// imports maps the package names that the interpreter imported on first
// use, the stored imports and the imports of code define to their paths
// (later ones win).
func (s *Session) imports(code string) map[string]string {
	m := make(map[string]string)
	if ai, ok := s.eval.(autoImporter); ok {
		for name, path := range ai.AutoImports() {
			if path != "" {
				m[name] = path
			}
		}
	}
	add := func(alias, quoted string, explicit bool) {
		path, err := strconv.Unquote(quoted)
		if err != nil || alias == "_" || alias == "." {
			return
		}
		if alias == "" {
			switch {
			case stdpkg.IsStd(path):
				alias = stdpkg.Name(path)
			case explicit:
				pkg, ok := s.importedPackage(path)
				if !ok {
					return
				}
				alias = pkg.Name() // the package clause's, which only its import tells
			default:
				return
			}
		}
		if explicit || stdpkg.IsStd(path) {
			m[alias] = path
		}
	}
	s.mu.Lock()
	decls := s.store.Decls()
	s.mu.Unlock()
	for _, d := range decls {
		if d.Kind != cell.ImportDecl {
			continue
		}
		for _, sub := range importRE.FindAllStringSubmatch(d.Source, -1) {
			add(sub[1], sub[2], true)
		}
	}
	for _, sub := range importRE.FindAllStringSubmatch(code, -1) {
		add(sub[1], sub[2], false)
	}
	return m
}

// nameAt returns the identifier or selector (a.b.c) around cursor (in
// code points), or %magic.
func nameAt(code string, cursor int) string {
	r := []rune(code)
	cursor = max(0, min(cursor, len(r)))
	end := cursor
	for end < len(r) && isIdentRune(r[end]) {
		end++
	}
	start := selectorStart(r, cursor)
	if start == end {
		return ""
	}
	for start > 0 && r[start-1] == '%' {
		start--
	}
	return strings.Trim(string(r[start:end]), ".")
}

// callAt returns the function called around the cursor: the selector
// before the innermost parenthesis open at the cursor, or before the
// parentheses just closed before it.
func callAt(code string, cursor int) string {
	r := []rune(code)
	cursor = max(0, min(cursor, len(r)))
	i := cursor
	for i > 0 && (r[i-1] == ' ' || r[i-1] == '\t') {
		i--
	}
	closed := i > 0 && r[i-1] == ')'
	depth := 0
	for i--; i >= 0; i-- {
		switch r[i] {
		case ')':
			depth++
		case '(':
			if closed {
				depth--
				if depth > 0 {
					continue
				}
			} else if depth > 0 {
				depth--
				continue
			}
			j := i
			for j > 0 && (r[j-1] == ' ' || r[j-1] == '\t') {
				j--
			}
			return strings.Trim(string(r[selectorStart(r, j):j]), ".")
		}
	}
	return ""
}

// selectorStart goes back from i over identifier runes and dots.
func selectorStart(r []rune, i int) int {
	for i > 0 && (isIdentRune(r[i-1]) || r[i-1] == '.' && i > 1 && isIdentRune(r[i-2])) {
		i--
	}
	return i
}

func isIdentRune(c rune) bool {
	return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c)
}
