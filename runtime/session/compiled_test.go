package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/timeonce"
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
		{"display and input", []step{
			{code: "var name string\nfmt.Scanln(&name)\ndisplay.Text(\"hello \" + name)\nslices.Max([]int{1, 7})", plain: "7", compiled: true},
			{code: "name", plain: "gopher"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Version: "test"})
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
	s := New(Options{Version: "test", Magics: magics.NewRegistry(timeonce.New())})
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
