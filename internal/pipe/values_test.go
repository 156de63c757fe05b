package pipe

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/harness"
)

// snapshot makes saved values from "name=digest" words.
func snapshot(words string) []harness.SavedVar {
	var out []harness.SavedVar
	for _, w := range strings.Fields(words) {
		name, digest, _ := strings.Cut(w, "=")
		out = append(out, harness.SavedVar{Name: name, Digest: digest, Data: []byte(name + digest)})
	}
	return out
}

// TestValuesDelta reports a sequence of snapshots as the worker does and
// applies each report as the kernel process does, through JSON: the
// kernel's copy must equal each snapshot, and only what changed crosses.
func TestValuesDelta(t *testing.T) {
	steps := []struct {
		snap    string
		skipped string
		reset   bool
		sent    int  // values in the report
		none    bool // no report at all
	}{
		{snap: "", sent: 0},                         // the first report, empty, is made
		{snap: "a=1 b=1", sent: 2},                  // new variables
		{snap: "a=1 b=1", none: true},               // nothing changed
		{snap: "a=1 b=2", sent: 1},                  // one changed
		{snap: "a=1 b=2 c=1", sent: 1},              // one new
		{snap: "a=1 c=1", sent: 0},                  // one dropped
		{snap: "c=1 a=1", sent: 0},                  // the order changed
		{snap: "c=1 a=1", skipped: "d", sent: 0},    // a variable skipped
		{snap: "d=1 c=1 a=2", sent: 2},              // new first, another changed
		{snap: "d=1 c=1 a=2", reset: true, sent: 3}, // after a reset, all
	}
	var sent Values
	var kernel []harness.SavedVar
	for i, step := range steps {
		if step.reset {
			sent.Reset()
		}
		var skipped []string
		if step.skipped != "" {
			skipped = strings.Fields(step.skipped)
		}
		snap := snapshot(step.snap)
		var st State
		if sent.Report(&st, snap, skipped) == step.none {
			t.Fatalf("step %d (%s): reported %v, want %v", i, step.snap, step.none, !step.none)
		}
		if step.none {
			continue
		}
		if len(st.Values) != step.sent {
			t.Errorf("step %d (%s): %d values sent, want %d", i, step.snap, len(st.Values), step.sent)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var got State
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		kernel = got.ApplyValues(kernel)
		if len(snap) == 0 && len(kernel) == 0 {
			continue
		}
		if !reflect.DeepEqual(kernel, snap) || !reflect.DeepEqual(got.Skipped, skipped) {
			t.Errorf("step %d: the kernel holds %v (skipped %v), want %v (skipped %v)", i, kernel, got.Skipped, snap, skipped)
		}
	}
}

// TestApplyValuesForged checks that a forged report cannot make the
// kernel process hold more values than it was sent.
func TestApplyValuesForged(t *testing.T) {
	st := State{Saved: true, Delta: true, Values: snapshot("a=1"), Order: []string{"a", "a", "a", "b", "a"}}
	got := st.ApplyValues(snapshot("b=1"))
	if want := snapshot("a=1 b=1"); !reflect.DeepEqual(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
}
