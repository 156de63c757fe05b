"""End-to-end checks that a magic's child starts from the values the
notebook holds (issue: one state): for each case, cells build a value in
the interpreter, then the same expression is printed by the interpreter
and by the child of %timeit -n 1 -r 1, and the two must be equal. Values
that cannot be carried must be named in a note on the magic's output.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_state.py [check ...]
"""

import sys

from perfnb_e2e import CHECKS, expect, run_checks

MAGIC_TIMEOUT = 240

# name, cells that build the state, expression printed on both sides,
# note expected on the magic's stderr (or None: no note at all).
CASES = [
    ("map_filled_by_loop",
     ["m := map[int]bool{}", "for i := 0; i < 1000; i++ { m[2*i] = true }"],
     "len(m), m[500], m[501]", None),
    ("slice_of_structs_appended",
     ["type pt struct {\n\tX, Y int\n\tname string\n}", "pts := []pt{}",
      'for i := 0; i < 50; i++ { pts = append(pts, pt{i, i * i, fmt.Sprint("p", i)}) }'],
     "len(pts), pts[7], pts[49].name", None),
    ("counter_incremented_later",
     ["counter := 0", "counter++", "counter += 5"],
     "counter", None),
    ("linked_list",
     ["type node struct {\n\tv    int\n\tnext *node\n}", "var list *node",
      "for i := 0; i < 4; i++ { list = &node{i, list} }"],
     "list.v, list.next.v, list.next.next.next.v, list.next.next.next.next == nil", None),
    ("shared_pointer",
     ["type box struct{ n int }", "b1 := &box{1}", "b2 := b1", "b1.n = 42"],
     "b2.n, b1 == b2", None),
    ("cycle",
     ["type ring struct {\n\tid   int\n\tnext *ring\n}", "r := &ring{id: 1}", "r.next = &ring{id: 2, next: r}"],
     "r.next.next == r, r.next.id, r.next.next.id", None),
    ("unexported_fields",
     ["type secret struct {\n\tlabel string\n\tvals  []float64\n\tinner struct{ k int }\n}",
      's := secret{}', 's.label, s.vals, s.inner.k = "hidden", []float64{1.5, 2.5}, 7'],
     "s.label, s.vals, s.inner.k", None),
    ("interface_holding_data",
     ["var anyv any = 1", "anyv = []string{\"a\", \"b\"}"],
     "anyv", None),
    ("interface_holding_nil",
     ["var anyNil any", "var anyPtr any", "anyPtr = &[]int{4}"],
     "anyNil == nil, *(anyPtr.(*[]int))", None),
    ("random_fixture",
     ["perm := rand.Perm(20)"],
     "perm", None),
    ("pointer_to_variable_is_noted",
     ["target := 5", "ptr := &target", "target = 9"],
     "*ptr, target", "ptr: it points to a package-level variable"),
    ("channel_is_noted",
     ["ch := make(chan int, 4)"],
     "cap(ch)", "ch: a channel"),
    ("func_is_noted",
     ["fn := func(x int) int { return x + 1 }"],
     "fn(1)", "fn: a func value"),
]


def make_check(name, cells, expr, note):
    def check(k):
        for c in cells:
            k.ok(c)
        want = k.ok("fmt.Println(%s)" % expr).stdout().strip()
        r = k.ok("%%timeit -n 1 -r 1 fmt.Println(%s)" % expr, timeout=MAGIC_TIMEOUT)
        got = r.stdout().strip()
        expect(got == want, "the child printed %r where the interpreter printed %r" % (got, want), r.describe())
        if note is None:
            expect("note:" not in r.stderr(), "unexpected note", r.describe())
        else:
            expect(note in r.stderr(), "no note %r on the magic's output" % note, r.describe())
    check.__name__ = name
    return check


for case in CASES:
    CHECKS.append(make_check(*case))


def memit_sees_values(k):
    """%memit's child starts from the notebook's values too."""
    k.ok("grown := []int{}")
    k.ok("for i := 0; i < 10; i++ { grown = append(grown, i*i) }")
    r = k.ok("%memit fmt.Println(len(grown), grown[9])", timeout=MAGIC_TIMEOUT)
    expect("10 81" in r.stdout(), "the child of %%memit printed %r" % r.stdout(), r.describe())
    expect("note:" not in r.stderr(), "unexpected note", r.describe())


CHECKS.append(memit_sees_values)


if __name__ == "__main__":
    sys.exit(run_checks())
