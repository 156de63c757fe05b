package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/engine"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/native"
)

// TestCompiledCells runs notebooks whose cells use Go the interpreter
// cannot run: each such cell runs compiled, says so once, and its values
// and declarations serve the cells after it, interpreted or compiled.
func TestCompiledCells(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	type step struct {
		code     string
		plain    string // text/plain of the value
		stdout   string
		compiled bool   // the cell says it ran compiled
		err      string // "Name: part of the value"; "" for success
		stderr   string // a part of its stderr
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"slices on a fixture", []step{
			{code: "xs := []int{3, 1, 2}"},
			{code: "slices.Sort(xs)", compiled: true},
			{code: "xs", plain: "[1 2 3]"},
			{code: "ks := []string{\"c\", \"a\", \"b\"}\nsort.Strings(ks)\ni, found := slices.BinarySearch(ks, \"b\")", compiled: true},
			{code: "fmt.Println(ks, i, found)", stdout: "[a b c] 1 true\n"},
		}},
		{"a declaration only the compiler runs", []step{
			{code: "func sorted(xs []int) []int {\n\tys := slices.Clone(xs)\n\tslices.Sort(ys)\n\treturn ys\n}", compiled: true},
			{code: "sorted([]int{2, 1})", plain: "[1 2]", compiled: true},
			{code: "n := len(sorted([]int{5, 4, 3}))", compiled: true},
			{code: "n * 2", plain: "6"},
		}},
		{"generic function, many calls", []step{
			{code: "func Map[T, U any](s []T, f func(T) U) []U {\n\tvar out []U\n\tfor _, v := range s {\n\t\tout = append(out, f(v))\n\t}\n\treturn out\n}"},
			{code: "Map([]int{1, 2, 3}, func(i int) int { return i * i })", plain: "[1 4 9]", compiled: true},
			{code: "Map([]int{1, 2, 3}, func(i int) int { return i * i })", plain: "[1 4 9]", compiled: true},
			{code: "fmt.Println(Map([]int{4, 5}, strconv.Itoa), Map([]string{\"a\"}, strings.ToUpper))", stdout: "[4 5] [A]\n", compiled: true},
		}},
		{"iterators", []step{
			{code: "m := map[string]int{\"b\": 2, \"a\": 1}"},
			{code: "slices.Sorted(maps.Keys(m))", plain: "[a b]", compiled: true},
			{code: "func count(n int) iter.Seq[int] {\n\treturn func(yield func(int) bool) {\n\t\tfor i := range n {\n\t\t\tif !yield(i) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}", compiled: true},
			{code: "total := 0\nfor v := range count(4) {\n\ttotal += v\n}", compiled: true},
			{code: "total", plain: "6"},
		}},
		{"a panic keeps what ran", []step{
			{code: "ys := []int{2, 1}"},
			{code: "slices.Sort(ys)\nys = append(ys, 9)\npanic(\"boom\")", compiled: true, err: "panic"},
			{code: "ys", plain: "[1 2 9]"},
		}},
		{"%%go", []step{
			{code: "%%go\nsum := 0\nfor i := range 1000 {\n\tsum += i\n}", compiled: true},
			{code: "sum", plain: "499500"},
			{code: "%%go\nsum * 2", plain: "999000", compiled: true},
		}},
		{"%engine", []step{
			{code: "%engine compiled", stdout: "engine: compiled\n"},
			{code: "x := 2", compiled: true},
			{code: "x * 3", plain: "6", compiled: true},
			{code: "%engine auto", stdout: "engine: auto\n"},
			{code: "x * 4", plain: "8"},
		}},
		{"displays interpreted and compiled", []step{
			{code: "h := display.HTML(\"<b>a</b>\")"},
			{code: "h.HTML(\"<b>b</b>\")"},
			{code: "%%go\nh2 := display.Text(\"c\")\nh2.Text(\"d\")", compiled: true},
		}},
		{"values that cannot come back, and a one-line loop", []step{
			{code: "%%go\nch := make(chan int, 1)\nt := 0\nfor i := range 10 { t += i }", compiled: true,
				stderr: "note: ch: its value cannot leave the compiled cell (a channel (chan int) cannot be carried)"},
			{code: "t", plain: "45"},
		}},
		{"display and input", []step{
			{code: "var name string\nfmt.Scanln(&name)\ndisplay.Text(\"hello \" + name)\nslices.Max([]int{1, 7})", plain: "7", compiled: true},
			{code: "name", plain: "gopher"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Version: "test", Magics: magics.NewRegistry(engine.New())})
			defer s.Shutdown(false)
			for k, st := range tc.steps {
				pub := &kerneltest.Publisher{Answer: kerneltest.Answers("gopher")}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				res := s.Execute(ctx, protocol.ExecuteRequest{Code: st.code, StoreHistory: true, AllowStdin: true, ExecutionCount: k + 1}, pub)
				cancel()
				errOut := pub.Text("stderr")
				if got := strings.HasPrefix(errOut, "compiled: "); got != st.compiled {
					t.Errorf("In[%d] %q: compiled %v, want %v (stderr %q)", k+1, st.code, got, st.compiled, errOut)
				}
				if !strings.Contains(errOut, st.stderr) {
					t.Errorf("In[%d] %q: stderr %q, want %q in it", k+1, st.code, errOut, st.stderr)
				}
				if st.err != "" {
					if res.Error == nil || !strings.Contains(res.Error.Name+": "+res.Error.Value, st.err) {
						t.Errorf("In[%d] %q: error %+v, want %q", k+1, st.code, res.Error, st.err)
					}
					continue
				}
				if res.Error != nil {
					t.Errorf("In[%d] %q: %s: %s %v", k+1, st.code, res.Error.Name, res.Error.Value, res.Error.Traceback)
					continue
				}
				if got, _ := res.Data["text/plain"].(string); got != st.plain {
					t.Errorf("In[%d] %q: value %q, want %q (stderr %q)", k+1, st.code, got, st.plain, errOut)
				}
				if got := pub.Text("stdout"); got != st.stdout {
					t.Errorf("In[%d] %q: stdout %q, want %q", k+1, st.code, got, st.stdout)
				}
			}
		})
	}
}

// BenchmarkCompiledTrivial measures a trivial compiled cell's round trip
// through the session (build with a warm cache, run, values back), beside
// the same cell interpreted.
func BenchmarkCompiledTrivial(b *testing.B) {
	for _, code := range []string{"x := 1", "%%go\nx := 1"} {
		b.Run(strings.ReplaceAll(code, "\n", " "), func(b *testing.B) {
			s := New(Options{Version: "test"})
			defer s.Shutdown(false)
			mustRun(b, s, code, 1) // warms the build cache
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				mustRun(b, s, code, k+2)
			}
		})
	}
}

// BenchmarkMagicCarry measures a magic (%time) on a notebook holding a map
// of 1e6 string keys built by a compiled cell: when a cell changed the map
// before each magic (its encoding is made again) and when nothing did
// (the encoding of the last magic is reused).
func BenchmarkMagicCarry(b *testing.B) {
	s := New(Options{Version: "test", Magics: magics.NewRegistry(timeit.NewTime())})
	defer s.Shutdown(false)
	mustRun(b, s, "%%go\nbig := make(map[string]int, 1000000)\nfor i := range 1000000 {\n\tbig[\"key-\"+strconv.Itoa(i)] = i\n}", 1)
	mustRun(b, s, "%time _ = len(big)", 2)
	count := 3
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("changed=%v", changed), func(b *testing.B) {
			for k := 0; k < b.N; k++ {
				if changed {
					b.StopTimer()
					mustRun(b, s, "big[\"key-0\"]++", count)
					count++
					b.StartTimer()
				}
				mustRun(b, s, "%time _ = len(big)", count)
				count++
			}
		})
	}
}

// TestCompiledRestore checks that a fresh interpreter (after a crash)
// gets back the declarations only the compiler held, without replaying
// them, and that cells using them still run compiled.
func TestCompiledRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	a := New(Options{Version: "test"})
	defer a.Shutdown(false)
	mustRun(t, a, "func sorted(xs []int) []int {\n\tys := slices.Clone(xs)\n\tslices.Sort(ys)\n\treturn ys\n}\nfunc twice(n int) int { return 2 * n }", 1)
	b := New(Options{Version: "test"})
	defer b.Shutdown(false)
	if errs := b.Restore(context.Background(), a.Decls()); len(errs) > 0 {
		t.Fatalf("restore: %v", errs)
	}
	pub := &kerneltest.Publisher{}
	res := b.Execute(context.Background(), protocol.ExecuteRequest{Code: "sorted([]int{twice(2), 1})", ExecutionCount: 2}, pub)
	if res.Error != nil || res.Data["text/plain"] != "[1 4]" || !strings.HasPrefix(pub.Text("stderr"), "compiled: uses sorted") {
		t.Errorf("after the restore: %+v %v, stderr %q", res.Error, res.Data, pub.Text("stderr"))
	}
	res = b.Execute(context.Background(), protocol.ExecuteRequest{Code: "twice(5)", ExecutionCount: 3}, pub)
	if res.Error != nil || res.Data["text/plain"] != "10" {
		t.Errorf("twice, interpreted after the restore: %+v %v", res.Error, res.Data)
	}
}

// TestEditedPackage checks that after an edit of a package of the
// notebook's own module that the interpreter loaded, cells using it run
// compiled, with the new code, and say why; a cell using what the edit
// added checks.
func TestEditedPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin with the Go toolchain")
	}
	s, write := editedModule(t, "func V() string { return \"v1\" }\n", nil)
	mustRun(t, s, `import "example.test/edited/lib"`, 1)
	// The package's names complete and inspect, from its export data.
	if got := s.Complete("lib.", 4).Matches; !slices.Contains(got, "V") {
		t.Errorf("lib. completes to %q, want V", got)
	}
	if in := s.Inspect("lib.V", 5, 0); !in.Found || !strings.Contains(fmt.Sprint(in.Data["text/plain"]), "func V() string") {
		t.Errorf("lib.V inspects as %v %v", in.Found, in.Data)
	}
	for k, step := range []struct {
		src           string // lib.go's new source, if any
		code          string
		value, stderr string
	}{
		{"", "lib.V()", "v1", ""},
		{"func V() string { return \"v2\" }\n", "lib.V()", "v2", "compiled: uses example.test/edited/lib, whose source changed"},
		// What the edit added checks, as the compiler sees it.
		{"func V() string { return \"v3\" }\n\nfunc W() string { return \"w\" }\n", "lib.V() + lib.W()", "v3w", "compiled: uses"},
	} {
		if step.src != "" {
			time.Sleep(10 * time.Millisecond) // a modification time of its own
			write("lib/lib.go", "package lib\n\n"+step.src)
		}
		pub := &kerneltest.Publisher{}
		res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: step.code, ExecutionCount: k + 2}, pub)
		if res.Error != nil || res.Data["text/plain"] != step.value || !strings.HasPrefix(pub.Text("stderr"), step.stderr) {
			t.Errorf("%s = %v %v, stderr %q; want %s and %q", step.code, res.Error, res.Data, pub.Text("stderr"), step.value, step.stderr)
		}
	}
}

// TestEditedPackageCarried checks that a magic alone in its cell, after
// an edit of a package of the notebook's module, carries a variable with
// its type as the edited package declares it: the types come from the
// checker, which takes the edit in first.
func TestEditedPackageCarried(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin with the Go toolchain")
	}
	s, write := editedModule(t, "type P struct{ N int }\n\nfunc New() P { return P{1} }\n", magics.NewRegistry(timeit.NewTime()))
	mustRun(t, s, `import "example.test/edited/lib"`, 1)
	mustRun(t, s, "p := lib.New()", 2)
	mustRun(t, s, "p.N = 7", 3)
	time.Sleep(10 * time.Millisecond) // a modification time of its own
	write("lib/lib.go", "package lib\n\ntype Q struct{ N int }\n\nfunc New() Q { return Q{2} }\n")
	pub := &kerneltest.Publisher{}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "%time fmt.Println(p.N)", ExecutionCount: 4}, pub)
	if res.Error != nil || pub.Text("stdout") != "7\n" || strings.Contains(pub.Text("stderr"), "note:") {
		t.Errorf("%%time after the edit: %v, stdout %q, stderr %q; want 7 and no note", res.Error, pub.Text("stdout"), pub.Text("stderr"))
	}
}

// editedModule returns a session on a notebook module whose package
// example.test/edited/lib holds lib (the package clause added), with the
// magics of reg (nil for the default), and a function that writes a file
// of the module.
func editedModule(t *testing.T, lib string, reg *magics.Registry) (*Session, func(name, src string)) {
	t.Helper()
	folder := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(folder, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.test/edited\n\ngo 1.24\n")
	write("lib/lib.go", "package lib\n\n"+lib)
	mods, err := modules.Open(context.Background(), modules.Options{Folder: folder, StateDir: t.TempDir(), Environ: append(os.Environ(), "GOPROXY=off")})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Version: "test", Modules: mods, Magics: reg})
	t.Cleanup(func() { s.Shutdown(false) })
	return s, write
}

// TestCompiledFailures checks that a compiled cell that loops until
// interrupted, or that eats memory, is stopped with a clear error; the
// interrupted one stops at the end of its loop's body and gives back what
// it changed, as an interrupted interpreted cell keeps it, and the other
// leaves the notebook's values as they were before it.
func TestCompiledFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	t.Setenv(native.MemoryLimitEnv, "300MiB")
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	mustRun(t, s, "xs := []int{3, 1}", 1)
	tests := []struct {
		name, code  string
		cancelAfter time.Duration
		err, xs     string
	}{
		// n, declared by the interrupted cell, is the interpreter's too.
		{"interrupt", "n := 0\nslices.Sort(xs)\nxs[0] = 42\nfor {\n\tn++\n}", 3 * time.Second, "Interrupted", "[42 3]"},
		{"memory", "slices.Reverse(xs)\nvar hog [][]byte\nfor {\n\thog = append(hog, make([]byte, 1<<20))\n\thog[len(hog)-1][0] = 1\n}", 0, "MemoryLimitExceeded", "[42 3]"},
	}
	for k, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter > 0 {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			res := s.Execute(ctx, protocol.ExecuteRequest{Code: tt.code, ExecutionCount: k + 2}, &kerneltest.Publisher{})
			if res.Error == nil || res.Error.Name != tt.err {
				t.Fatalf("error %+v, want %s", res.Error, tt.err)
			}
			res = s.Execute(context.Background(), protocol.ExecuteRequest{Code: "xs", ExecutionCount: k + 10}, &kerneltest.Publisher{})
			if res.Error != nil || res.Data["text/plain"] != tt.xs {
				t.Errorf("xs after the failed cell: %v %v, want %s", res.Error, res.Data, tt.xs)
			}
			if tt.name == "interrupt" {
				pub := &kerneltest.Publisher{}
				res = s.Execute(context.Background(), protocol.ExecuteRequest{Code: "n > 0", ExecutionCount: k + 20}, pub)
				if res.Error != nil || res.Data["text/plain"] != "true" || pub.Text("stderr") != "" {
					t.Errorf("n > 0 after the interrupt: %v %v, stderr %q; want true, interpreted", res.Error, res.Data, pub.Text("stderr"))
				}
			}
		})
	}
}

// TestCarryDeclarationForms carries every form of top-level declaration a
// cell can make into a compiled cell's child, and checks that the child
// sees what the interpreter holds, with no note (each value is checked by
// digest on the child's side).
func TestCarryDeclarationForms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	tests := []struct {
		name  string
		cells []string
		expr  string
	}{
		{"blank", []string{`a, _ := strconv.Atoi("5")`}, "a"},
		{"two from one call", []string{`x, err := strconv.ParseFloat("2.5", 64)`}, "x, err"},
		{"two values", []string{"q, r := 7/2, 7%2"}, "q, r"},
		{"blank first", []string{"_, c := 1, 2"}, "c"},
		{"assigned later", []string{"n := 5", "n = 7"}, "n"},
		{"var list", []string{`var v1, v2 = 1, "two"`}, "v1, v2"},
		{"var group", []string{"var (\n\tg1 = 1.5\n\tg2 = []int{1}\n)", "g2 = append(g2, 2)"}, "g1, g2"},
		{"zero var", []string{"var z int", "z = 3"}, "z"},
		{"redefined", []string{"s := 1", `s := "str"`}, "s"},
		{"array", []string{"arr := [3]int{1, 2, 3}", "arr[1] = 9"}, "arr"},
		// fs.FileMode, of a package no cell imports: the program imports
		// it to name the type.
		{"type of a package not imported", []string{"mode := os.ModeDir", "mode |= 0o700"}, "mode"},
		{"notebook's type", []string{"type pair struct{ a, b int }", "pp := []pair{{1, 2}}", "pp[0].b = 5"}, "pp"},
		{"generic type", []string{"type box[T any] struct{ v T }", "bx := box[string]{\"a\"}", "bx.v = \"b\""}, "bx"},
		{"alias", []string{"type ints = []int", "var il ints = ints{1}", "il = append(il, 2)"}, "il"},
		{"struct literal", []string{"var anon = struct {\n\tA int\n\tb string\n}{1, \"x\"}", "anon.b = \"y\""}, "anon"},
		{"import renamed", []string{`import tm "time"`, "d := tm.Duration(5)", "d *= 2"}, "d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Version: "test"})
			defer s.Shutdown(false)
			for k, c := range tt.cells {
				mustRun(t, s, c, k+1)
			}
			want := &kerneltest.Publisher{}
			if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "fmt.Println(" + tt.expr + ")", ExecutionCount: 10}, want); res.Error != nil {
				t.Fatal(res.Error)
			}
			got := &kerneltest.Publisher{}
			if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "%%go\nfmt.Println(" + tt.expr + ")", ExecutionCount: 11}, got); res.Error != nil {
				t.Fatal(res.Error)
			}
			if got.Text("stdout") != want.Text("stdout") || strings.Contains(got.Text("stderr"), "note:") {
				t.Errorf("compiled: %q, stderr %q; interpreted: %q", got.Text("stdout"), got.Text("stderr"), want.Text("stdout"))
			}
		})
	}
}

// TestMagicVarsCompiled checks the variables a magic sets (%timeit -v),
// whose values are of perfnb's own types: under %engine compiled a cell
// using one runs interpreted, and says so; a cell that must run compiled
// and uses one fails with a clear error; a cell's own declaration of the
// name replaces the magic's variable.
func TestMagicVarsCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	type result struct{ X int }
	setv := magics.Declare("setv", func() magics.Doc { return magics.Doc{Summary: "sets res"} },
		func(_ context.Context, _ magics.Call, env magics.Env) (any, error) {
			return nil, env.SetVar("res", &result{X: 7})
		})
	s := New(Options{Version: "test", Magics: magics.NewRegistry(engine.New(), setv)})
	defer s.Shutdown(false)
	for k, st := range []struct {
		code, plain, stderr, err string
	}{
		{code: "%setv"},
		{code: "%engine compiled", stderr: ""},
		{code: "res.X + 1", plain: "8", stderr: "interpreted: uses res, which %setv -v set"},
		{code: "%engine auto"},
		{code: "slices.Max([]int{res.X, 1})", err: "it uses res, which %setv -v set to a value of perfnb's own type"},
		{code: "res := 3"},
		{code: "%engine compiled"},
		{code: "res * 2", plain: "6", stderr: "compiled: "},
	} {
		pub := &kerneltest.Publisher{}
		res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: st.code, ExecutionCount: k + 1}, pub)
		switch {
		case st.err != "":
			if res.Error == nil || !strings.Contains(res.Error.Value, st.err) {
				t.Errorf("In[%d] %q: error %+v, want %q", k+1, st.code, res.Error, st.err)
			}
		case res.Error != nil:
			t.Errorf("In[%d] %q: %s: %s", k+1, st.code, res.Error.Name, res.Error.Value)
		case fmt.Sprint(res.Data["text/plain"]) != st.plain && st.plain != "":
			t.Errorf("In[%d] %q: value %v, want %s", k+1, st.code, res.Data["text/plain"], st.plain)
		}
		if !strings.HasPrefix(pub.Text("stderr"), st.stderr) {
			t.Errorf("In[%d] %q: stderr %q, want it to start with %q", k+1, st.code, pub.Text("stderr"), st.stderr)
		}
	}
}
