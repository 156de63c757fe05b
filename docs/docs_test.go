package docs

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// root is the repository's root, relative to this package's folder.
const root = ".."

// readmeMaxLines is how long README.md may grow: a five-minute read.
// Reference material goes to docs/.
const readmeMaxLines = 250

// pages returns the Markdown files whose links are checked, relative to
// root: README.md, ARCHITECTURE.md and docs/*.md.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md", "ARCHITECTURE.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 5 {
		t.Fatalf("found only %q", files)
	}
	return files
}

// A page is a Markdown file: its links, and the anchors of its headings.
type page struct {
	links   []link
	anchors map[string]bool
	lines   int
}

// A link is the target of a Markdown link or image, with its line.
type link struct {
	line   int
	target string
}

var (
	fence    = regexp.MustCompile("^\\s*(```|~~~)")
	heading  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	codeSpan = regexp.MustCompile("`+[^`]*`+")
	// mdLink matches [text](target) and ![alt](target); the text may hold
	// code spans (taken out before) but not brackets.
	mdLink  = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	scheme  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	textRef = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// parse reads a Markdown file: the links outside code blocks and code
// spans, and the anchors GitHub gives its headings.
func parse(name string) (*page, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	p := &page{anchors: map[string]bool{}}
	seen := map[string]int{}
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p.lines++
		line := sc.Text()
		if fence.MatchString(line) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			slug := slugify(m[2])
			if n := seen[slug]; n > 0 {
				p.anchors[fmt.Sprintf("%s-%d", slug, n)] = true
			} else {
				p.anchors[slug] = true
			}
			seen[slug]++
		}
		for _, m := range mdLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, "``"), -1) {
			p.links = append(p.links, link{line: p.lines, target: m[1]})
		}
	}
	return p, sc.Err()
}

// slugify returns the anchor GitHub makes of a heading's Markdown text:
// the text as rendered (code spans and links reduced to their text), in
// lower case, with every character but letters, digits, spaces, hyphens
// and underscores removed and each space made a hyphen.
func slugify(md string) string {
	text := textRef.ReplaceAllString(md, "$1")
	text = strings.NewReplacer("`", "", "**", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlugify(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"The kernel against ipykernel", "the-kernel-against-ipykernel"},
		{"`%%go` and `%engine`", "go-and-engine"},
		{"`scripts/notebook`", "scriptsnotebook"},
		{"One program: cells are type-checked as Go before they run", "one-program-cells-are-type-checked-as-go-before-they-run"},
		{"Figures, beside ipykernel", "figures-beside-ipykernel"},
		{"`%scalene`'s accuracy and cost", "scalenes-accuracy-and-cost"},
		{"Design choices, and why", "design-choices-and-why"},
		{"A [linked](x.md) heading", "a-linked-heading"},
	} {
		if got := slugify(tt.heading); got != tt.want {
			t.Errorf("slugify(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// TestLinks checks that every relative link of the documentation names a
// file or folder that exists, and that every #anchor names a heading of
// the page it points to.
func TestLinks(t *testing.T) {
	parsed := map[string]*page{}
	load := func(name string) (*page, error) {
		if p, ok := parsed[name]; ok {
			return p, nil
		}
		p, err := parse(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		parsed[name] = p
		return p, nil
	}
	total := 0
	for _, name := range pages(t) {
		t.Run(name, func(t *testing.T) {
			p, err := load(name)
			if err != nil {
				t.Fatal(err)
			}
			total += len(p.links)
			for _, l := range p.links {
				if err := check(name, l.target, load); err != nil {
					t.Errorf("%s:%d: link %q: %v", name, l.line, l.target, err)
				}
			}
		})
	}
	if total < 50 {
		t.Errorf("found %d links in all; is the parser broken?", total)
	}
}

// check reports whether target, a link in the page from, resolves.
func check(from, target string, load func(string) (*page, error)) error {
	if target == "" {
		return errors.New("empty target")
	}
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return nil // not a file of the repository
	}
	file, anchor, _ := strings.Cut(target, "#")
	dest := from
	if file != "" {
		dest = path.Clean(path.Join(path.Dir(from), file))
		if strings.HasPrefix(dest, "../") {
			return fmt.Errorf("%s is outside the repository", dest)
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dest))); err != nil {
			return fmt.Errorf("no file %s", dest)
		}
	}
	if anchor == "" {
		return nil
	}
	if !strings.HasSuffix(dest, ".md") {
		return fmt.Errorf("an anchor in %s, which is not a Markdown page", dest)
	}
	p, err := load(dest)
	if err != nil {
		return err
	}
	if !p.anchors[anchor] {
		return fmt.Errorf("no heading of %s has the anchor #%s (it has %s)", dest, anchor, strings.Join(sorted(p.anchors), ", "))
	}
	return nil
}

func sorted(set map[string]bool) []string {
	var s []string
	for k := range set {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// TestReadmeIsShort fails when README.md grows past a five-minute read.
func TestReadmeIsShort(t *testing.T) {
	p, err := parse(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if p.lines > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move reference material to docs/ and point to it", p.lines, readmeMaxLines)
	}
}

// repoPath matches a code span that names a file of the repository by
// its extension.
var repoPath = regexp.MustCompile("`([a-zA-Z0-9_.-]+(?:/[a-zA-Z0-9_.-]+)+\\.(?:go|md|py|ipynb|json))`")

// TestPathsExist checks that the files the documentation names in code
// spans (kernel/publisher.go, notebooks/shape_test.go) exist, when their
// first folder is one of the repository's.
func TestPathsExist(t *testing.T) {
	for _, name := range pages(t) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range repoPath.FindAllStringSubmatch(line, -1) {
				first, _, _ := strings.Cut(m[1], "/")
				if st, err := os.Stat(filepath.Join(root, first)); err != nil || !st.IsDir() {
					continue // another repository's file (sort/search.go)
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
					t.Errorf("%s:%d: names %s, which does not exist", name, i+1, m[1])
				}
			}
		}
	}
}

// TestPackageTable checks ARCHITECTURE.md's table of packages against the
// tree: every folder it names exists, and every package of the module is
// named.
func TestPackageTable(t *testing.T) {
	named := tablePackages(t)
	for p := range named {
		file := filepath.Join(root, filepath.FromSlash(p))
		if _, err := os.Stat(file); err != nil {
			t.Errorf("ARCHITECTURE.md's table names %s, which does not exist", p)
		}
	}
	for _, p := range modulePackages(t) {
		if p == "." {
			p = "main.go"
		}
		if !named[p] {
			t.Errorf("ARCHITECTURE.md's table of packages does not name %s", p)
		}
	}
}

// tablePackages returns the paths the first column of ARCHITECTURE.md's
// table of packages names in code spans, without a trailing slash.
func tablePackages(t *testing.T) map[string]bool {
	data, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "\n## Packages\n")
	if !ok {
		t.Fatal(`ARCHITECTURE.md has no "## Packages" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	named := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(cells[1], -1) {
			if p := strings.TrimSuffix(m[1], "/"); p != "package" && !strings.HasPrefix(p, "%") {
				named[p] = true
			}
		}
	}
	if len(named) < 20 {
		t.Fatalf("found %d packages in ARCHITECTURE.md's table: %v", len(named), sorted(named))
	}
	return named
}

// modulePackages returns the folders of the module's packages, relative
// to root ("." for the root): every folder with Go files that build,
// leaving out testdata, hidden folders and other modules.
func modulePackages(t *testing.T) []string {
	var pkgs []string
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		base := d.Name()
		if dir != root && (base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && dir != root {
			return filepath.SkipDir // a module of its own (an example notebook's)
		}
		if _, err := build.ImportDir(dir, 0); err != nil {
			var none *build.NoGoError
			if errors.As(err, &none) {
				return nil
			}
			return fmt.Errorf("%s: %w", dir, err)
		}
		rel, err := filepath.Rel(root, dir)
		pkgs = append(pkgs, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// envConst is a Go constant that names an environment variable perfnb
// reads or sets: `NameEnv = "PERFNB_..."`.
var envConst = regexp.MustCompile(`\b\w+Env\s*=\s*"([A-Z][A-Z0-9_]*)"`)

// TestEnvironmentDocumented checks that environment.md names every
// variable that a constant of the code names.
func TestEnvironmentDocumented(t *testing.T) {
	doc, err := os.ReadFile("environment.md")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err = filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range envConst.FindAllSubmatch(src, -1) {
			found[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 10 {
		t.Fatalf("found only %d variables in the code: %v", len(found), sorted(found))
	}
	for _, v := range sorted(found) {
		if !strings.Contains(string(doc), "`"+v+"`") {
			t.Errorf("environment.md does not name %s, which the code reads or sets", v)
		}
	}
}
