package stdpkg

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/traefik/yaegi/stdlib"
)

// TestNames checks that each entry's name is its package's name.
func TestNames(t *testing.T) {
	for name, p := range byName {
		if got := Name(p); got != name {
			t.Errorf("%s: %s is named %s", name, p, got)
		}
	}
	if got := Name("math/rand/v2"); got != "rand" {
		t.Errorf(`Name("math/rand/v2") = %q`, got)
	}
}

// TestCoversGoListStd checks the table against the toolchain's standard
// library: every public package's name is in the table.
func TestCoversGoListStd(t *testing.T) {
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Skipf("go list std: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "internal") || strings.HasPrefix(p, "vendor/") || strings.HasPrefix(p, "cmd/") {
			continue
		}
		if _, ok := byName[Name(p)]; !ok {
			t.Errorf("%s (%s) is not in the table", Name(p), p)
		}
	}
}

// TestCoversInterpreter checks that every standard package the
// interpreter (yaegi) can load is in the table, under its name, so that
// the two engines import the same package for a name.
func TestCoversInterpreter(t *testing.T) {
	for key := range stdlib.Symbols {
		dir := path.Dir(key)
		if dir == "." || strings.Contains(dir, ".") || strings.Contains(dir, "internal") {
			continue
		}
		name := path.Base(key)
		if p, ok := byName[name]; !ok {
			t.Errorf("yaegi loads %s as %s, which the table lacks", dir, name)
		} else if Name(p) != name {
			t.Errorf("%s: the table has %s", name, p)
		}
	}
}
