package magics_test

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/engine"
	"github.com/perfnb/perfnb/magics/gomod"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/prun"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
)

var update = flag.Bool("update", false, "rewrite docs/magics.md's options from the code")

// docsPage is the documentation of the magics' outputs and options.
const docsPage = "../docs/magics.md"

// docSection is a magic's documentation in docsPage, between markers.
var docSection = regexp.MustCompile("(?s)(<!-- begin (%[a-z]+)\\? -->\n```\n).*?(```\n<!-- end %[a-z]+\\? -->)")

// TestDocsMagics checks that docs/magics.md shows each magic's Doc, as
// %name? shows it, written from the magic's declarations.
func TestDocsMagics(t *testing.T) {
	docs := map[string]string{}
	for _, m := range []magics.Magic{timeit.New(), timeit.NewTime(), memit.New(), scalene.New(), prun.New(), gomod.New(nil, nil), engine.New()} {
		docs["%"+m.Name()] = m.Doc()
	}
	page, err := os.ReadFile(docsPage)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	got := docSection.ReplaceAllStringFunc(string(page), func(s string) string {
		m := docSection.FindStringSubmatch(s)
		doc, ok := docs[m[2]]
		if !ok {
			t.Errorf("%s has a section for %s, which is not a magic", docsPage, m[2])
			return s
		}
		found[m[2]] = true
		return m[1] + strings.TrimRight(doc, "\n") + "\n" + m[3]
	})
	for name := range docs {
		if !found[name] {
			t.Errorf("%s has no section for %s", docsPage, name)
		}
	}
	if *update {
		if err := os.WriteFile(docsPage, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(page) {
		t.Errorf("%s does not show the magics' documentation as the code writes it (go test ./magics -run TestDocsMagics -update rewrites it)", docsPage)
	}
}
