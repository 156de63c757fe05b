"""End-to-end checks that cells are Go 1.26, not a subset (issue 18):
each case is a notebook of cells using what the interpreter lacks
(min, max, clear; slices and maps; iterators and range over functions;
generic functions and types used from several cells), run through
jupyter_client; what the cells print must be what the same program prints
under `go run`. A function declared in one cell is then used by an
interpreted cell, a compiled cell and the magics. Values cross between
the engines both ways; stdin and displays work in a compiled cell.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_modern.py [check ...]
"""

import os
import subprocess
import sys
import tempfile

from perfnb_e2e import CHECKS, expect, run_checks

TIMEOUT = 180

# name, cells (declarations and statements, in order), and the same
# program for go run: its declarations and the body of main.
CASES = [
    ("builtins",
     ["k := 7", "fmt.Println(min(k, 3), max(2.5, float64(k)), min(\"b\", \"a\"))",
      "m := map[int]bool{1: true}\nclear(m)\nfmt.Println(len(m))",
      "func clamp(x int) int { return min(x, 10) }", "fmt.Println(clamp(50), clamp(-1))"],
     "func clamp(x int) int { return min(x, 10) }",
     "k := 7\nfmt.Println(min(k, 3), max(2.5, float64(k)), min(\"b\", \"a\"))\n"
     "m := map[int]bool{1: true}\nclear(m)\nfmt.Println(len(m))\nfmt.Println(clamp(50), clamp(-1))"),
    ("slices_and_maps",
     ["xs := []int{5, 2, 9, 1}", "slices.Sort(xs)\ni, found := slices.BinarySearch(xs, 5)",
      "fmt.Println(xs, i, found, slices.Max(xs), slices.Index(xs, 9))",
      "ages := map[string]int{\"bo\": 3, \"al\": 5}", "fmt.Println(slices.Sorted(maps.Keys(ages)))"],
     "",
     "xs := []int{5, 2, 9, 1}\nslices.Sort(xs)\ni, found := slices.BinarySearch(xs, 5)\n"
     "fmt.Println(xs, i, found, slices.Max(xs), slices.Index(xs, 9))\n"
     "ages := map[string]int{\"bo\": 3, \"al\": 5}\nfmt.Println(slices.Sorted(maps.Keys(ages)))"),
    ("iterators",
     ["func evens(n int) iter.Seq[int] {\n\treturn func(yield func(int) bool) {\n\t\tfor i := 0; i < n; i += 2 {\n\t\t\tif !yield(i) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}",
      "sum := 0\nfor v := range evens(10) {\n\tsum += v\n}", "fmt.Println(sum, slices.Collect(evens(7)))",
      "for i, s := range slices.All([]string{\"x\", \"y\"}) {\n\tfmt.Println(i, s)\n}"],
     "func evens(n int) iter.Seq[int] {\n\treturn func(yield func(int) bool) {\n\t\tfor i := 0; i < n; i += 2 {\n\t\t\tif !yield(i) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}",
     "sum := 0\nfor v := range evens(10) {\n\tsum += v\n}\nfmt.Println(sum, slices.Collect(evens(7)))\n"
     "for i, s := range slices.All([]string{\"x\", \"y\"}) {\n\tfmt.Println(i, s)\n}"),
    ("generics",
     ["func Map[T, U any](s []T, f func(T) U) []U {\n\tout := make([]U, 0, len(s))\n\tfor _, v := range s {\n\t\tout = append(out, f(v))\n\t}\n\treturn out\n}",
      "type Stack[T any] struct{ items []T }\nfunc (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }\nfunc (s *Stack[T]) Len() int { return len(s.items) }",
      "fmt.Println(Map([]int{1, 2, 3}, func(i int) int { return i * i }))",
      "fmt.Println(Map([]int{1, 2}, strconv.Itoa), Map([]string{\"a\"}, strings.ToUpper))",
      "var st Stack[string]\nst.Push(\"a\")\nst.Push(\"b\")", "var si Stack[float64]\nsi.Push(1.5)\nfmt.Println(st.Len(), si.Len(), st.items)"],
     "func Map[T, U any](s []T, f func(T) U) []U {\n\tout := make([]U, 0, len(s))\n\tfor _, v := range s {\n\t\tout = append(out, f(v))\n\t}\n\treturn out\n}\n"
     "type Stack[T any] struct{ items []T }\nfunc (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }\nfunc (s *Stack[T]) Len() int { return len(s.items) }",
     "fmt.Println(Map([]int{1, 2, 3}, func(i int) int { return i * i }))\n"
     "fmt.Println(Map([]int{1, 2}, strconv.Itoa), Map([]string{\"a\"}, strings.ToUpper))\n"
     "var st Stack[string]\nst.Push(\"a\")\nst.Push(\"b\")\nvar si Stack[float64]\nsi.Push(1.5)\nfmt.Println(st.Len(), si.Len(), st.items)"),
]

IMPORTS = ["fmt", "iter", "maps", "slices", "strconv", "strings"]


def go_run(decls, body):
    """Returns what `go run` prints for the program of decls and body."""
    used = [p for p in IMPORTS if (p + ".") in decls + body]
    src = "package main\n\nimport (\n%s\n)\n\n%s\n\nfunc main() {\n%s\n}\n" % (
        "\n".join('\t"%s"' % p for p in used), decls, body)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "main.go"), "w") as f:
            f.write(src)
        with open(os.path.join(d, "go.mod"), "w") as f:
            f.write("module modern\n\ngo 1.26\n")
        out = subprocess.run(["go", "run", "."], cwd=d, capture_output=True, text=True, timeout=TIMEOUT)
    expect(out.returncode == 0, "go run failed", src, out.stderr)
    return out.stdout


def make_check(name, cells, decls, body):
    def check(k):
        results = [k.ok(c, timeout=TIMEOUT) for c in cells]
        got = "".join(r.stdout() for r in results)
        want = go_run(decls, body)
        expect(got == want, "the notebook printed %r where go run printed %r" % (got, want),
               *[r.describe() for r in results])
    check.__name__ = name
    return check


for case in CASES:
    CHECKS.append(make_check(*case))


def compiled_note(r):
    return "compiled: " in r.stderr()


@CHECKS.append
def one_function_every_engine(k):
    """A function the interpreter cannot run, declared in one cell, used
    by an interpreted cell (which then runs compiled), a %%go cell and
    each magic, with the same answer."""
    k.ok("func sortedCopy(xs []int) []int {\n\tys := slices.Clone(xs)\n\tslices.Sort(ys)\n\treturn ys\n}")
    k.ok("data := []int{3, 1, 2}")
    for code in ["fmt.Println(sortedCopy(data))", "%%go\nfmt.Println(sortedCopy(data))",
                 "%time fmt.Println(sortedCopy(data))", "%timeit -n 1 -r 1 fmt.Println(sortedCopy(data))",
                 "%memit fmt.Println(sortedCopy(data))"]:
        r = k.ok(code, timeout=TIMEOUT)
        expect(r.stdout().startswith("[1 2 3]\n"), "%s printed %r" % (code, r.stdout()), r.describe())


@CHECKS.append
def values_cross_both_ways(k):
    """A map built by a compiled cell is read by an interpreted one; a
    slice built by an interpreted cell is sorted by a compiled one."""
    r = k.ok("%%go\nsquares := map[int]int{}\nfor i := range 100 {\n\tsquares[i] = i * i\n}", timeout=TIMEOUT)
    expect(compiled_note(r), "%%go did not say it ran compiled", r.describe())
    r = k.ok("fmt.Println(len(squares), squares[9])")
    expect(r.stdout() == "100 81\n" and not compiled_note(r), "interpreted read %r" % r.stdout(), r.describe())
    k.ok("names := []string{\"c\", \"a\", \"b\"}")
    r = k.ok("slices.Sort(names)", timeout=TIMEOUT)
    expect(compiled_note(r), "slices.Sort did not run compiled", r.describe())
    r = k.ok("fmt.Println(names)")
    expect(r.stdout() == "[a b c]\n", "names after the compiled sort: %r" % r.stdout(), r.describe())


@CHECKS.append
def stdin_and_display_compiled(k):
    """A compiled cell reads a line from the client and shows a display."""
    r = k.execute("var who string\nfmt.Scanln(&who)\ndisplay.Markdown(\"**\" + who + \"**\")\nslices.Max([]int{4, 2})",
                  timeout=TIMEOUT, stdin=lambda content: "gopher")
    expect(r.status == "ok", "the cell failed", r.describe())
    expect(len(r.stdin_requests) == 1, "%d input requests, want 1" % len(r.stdin_requests), r.describe())
    shown = [m["content"]["data"].get("text/markdown") for m in r.of_type("display_data")]
    expect(shown == ["**gopher**"], "displays %r" % shown, r.describe())
    expect(r.result_text() == "4", "result %r" % r.result_text(), r.describe())


@CHECKS.append
def panic_half_way(k):
    """A compiled cell that panics keeps what it changed before the panic
    and reports the panic at its cell line."""
    k.ok("ys := []int{2, 1}")
    r = k.execute("slices.Sort(ys)\nys = append(ys, 7)\npanic(\"half way\")", timeout=TIMEOUT)
    expect(r.status == "error" and "half way" in r.error_text(), "no panic error", r.describe())
    expect("In[" in r.error_text(), "the panic names no cell line", r.describe())
    r = k.ok("fmt.Println(ys)")
    expect(r.stdout() == "[1 2 7]\n", "ys after the panic: %r" % r.stdout(), r.describe())


if __name__ == "__main__":
    sys.exit(run_checks())
