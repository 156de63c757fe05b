package supervisor_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestKernelProcessDoesNotLinkTheInterpreter checks that what the kernel
// process runs (the transport, the protocol and the supervisor) reaches
// neither yaegi nor the worker's packages: a cell's interpreter lives in
// the worker process only, and the kernel process stays small.
func TestKernelProcessDoesNotLinkTheInterpreter(t *testing.T) {
	const module = "github.com/perfnb/perfnb/"
	banned := []string{
		"github.com/traefik/yaegi",
		module + "runtime/interp",
		module + "runtime/worker",
		module + "runtime/session",
		module + "runtime/native",
		module + "runtime/modules",
		module + "magics",
	}
	for _, pkg := range []string{"kernel", "kernel/supervisor"} {
		out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if dep == b || strings.HasPrefix(dep, b+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
			if pkg == "kernel" && strings.HasPrefix(dep, module+"runtime/") {
				t.Errorf("the transport (kernel) depends on %s, a package of the interpreter's side", dep)
			}
		}
	}
}
