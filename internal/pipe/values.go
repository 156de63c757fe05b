package pipe

import (
	"slices"
	"strings"

	"github.com/perfnb/perfnb/runtime/harness"
)

// Values is what the worker last reported of the variables' values, so
// that a report sends what changed rather than every value: after a cell
// that changed one variable of a thousand, one value crosses the pipe,
// not a thousand.
type Values struct {
	order   []string          // the names reported, in order
	digests map[string]string // the digest reported of each; nil: none since the last Reset
	skipped string            // the skipped list reported, joined
}

// Reset makes the next report carry every value: the kernel process
// starts again from it (after a restore, or a report that was lost).
func (v *Values) Reset() { *v = Values{} }

// Report puts into st the values saved and the variables skipped, as a
// delta from the last report when there was one, and reports whether
// anything changed (nothing is put into st otherwise). The kernel process
// applies it with State.ApplyValues.
func (v *Values) Report(st *State, saved []harness.SavedVar, skipped []string) bool {
	order := make([]string, len(saved))
	digests := make(map[string]string, len(saved))
	for i, sv := range saved {
		order[i], digests[sv.Name] = sv.Name, sv.Digest
	}
	sk := strings.Join(skipped, "\x00")
	if v.digests == nil {
		*v = Values{order: order, digests: digests, skipped: sk}
		st.Values, st.Skipped, st.Saved = saved, skipped, true
		return true
	}
	var changed []harness.SavedVar
	for _, sv := range saved {
		if d, ok := v.digests[sv.Name]; !ok || d != sv.Digest {
			changed = append(changed, sv)
		}
	}
	var dropped []string
	for _, name := range v.order {
		if _, ok := digests[name]; !ok {
			dropped = append(dropped, name)
		}
	}
	if len(changed) == 0 && len(dropped) == 0 && sk == v.skipped && slices.Equal(order, v.order) {
		return false
	}
	st.Values, st.Dropped, st.Skipped, st.Saved, st.Delta = changed, dropped, skipped, true, true
	if !slices.Equal(applyOrder(v.order, changed, dropped), order) {
		st.Order = order
	}
	v.order, v.digests, v.skipped = order, digests, sk
	return true
}

// ApplyValues returns values (the kernel process's copy) updated by st's
// report: replaced by its values, or, for a delta, with the changed
// values in place, the new ones after them, the dropped ones gone, and in
// st's Order when it has one.
func (st *State) ApplyValues(values []harness.SavedVar) []harness.SavedVar {
	if !st.Delta {
		return st.Values
	}
	byName := make(map[string]harness.SavedVar, len(values)+len(st.Values))
	for _, v := range values {
		byName[v.Name] = v
	}
	for _, v := range st.Values {
		byName[v.Name] = v
	}
	order := st.Order
	if order == nil {
		names := make([]string, len(values))
		for i, v := range values {
			names[i] = v.Name
		}
		order = applyOrder(names, st.Values, st.Dropped)
	}
	out := make([]harness.SavedVar, 0, len(byName))
	for _, name := range order {
		if v, ok := byName[name]; ok {
			out = append(out, v)
			delete(byName, name) // once each, whatever a forged order repeats
		}
	}
	return out
}

// applyOrder returns the order of names after a delta: without the
// dropped names, with the changed ones not in names appended in their
// order.
func applyOrder(names []string, changed []harness.SavedVar, dropped []string) []string {
	out := make([]string, 0, len(names)+len(changed))
	gone := make(map[string]bool, len(dropped))
	for _, n := range dropped {
		gone[n] = true
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		if !gone[n] {
			out = append(out, n)
			have[n] = true
		}
	}
	for _, v := range changed {
		if !have[v.Name] {
			out = append(out, v.Name)
			have[v.Name] = true
		}
	}
	return out
}
