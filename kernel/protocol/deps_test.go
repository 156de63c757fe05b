package protocol_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTransportDependency checks that the packages cells and magics use
// reach the protocol's types without the transport: none of them may
// depend, even indirectly, on ZeroMQ or on package kernel.
func TestNoTransportDependency(t *testing.T) {
	const module = "github.com/perfnb/perfnb/"
	for _, pkg := range []string{"kernel/protocol", "runtime/...", "magics/...", "runner", "compare"} {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if strings.HasPrefix(dep, "github.com/go-zeromq/") || dep == module+"kernel" ||
					strings.HasPrefix(dep, module+"kernel/zmtp") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		})
	}
}

// TestStandardLibraryOnly checks that package protocol imports nothing
// outside the standard library, so that anything may import it.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/perfnb/perfnb/kernel/protocol").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/perfnb/perfnb/kernel/protocol" {
		t.Errorf("package protocol depends on %v, want the standard library only", got)
	}
}
