package session

import (
	"slices"
	"strings"
	"testing"
)

// TestVersions checks which variables' versions a cell bumps: those it
// may have changed, and only those, so that the workspace encodes again
// exactly the values that may differ.
func TestVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	setup := []string{"x := []int{1, 2}", "y := 5", "z := x", "w := [3]int{}"}
	for k, code := range setup {
		mustRun(t, s, code, k+1)
	}
	vars := []string{"w", "x", "y", "z"}
	tests := []struct {
		code    string
		changed []string
	}{
		{"_ = 1", nil},
		{"fmt.Println(y)", nil},          // fmt's print functions only read
		{"z[0] = 9", []string{"x", "z"}}, // z shares x's array
		{"w[1] = 4", []string{"w"}},
		{"p := w[:]", []string{"w"}},          // w's address is taken, by a slice
		{"p[0] = 1", []string{"w", "x", "z"}}, // p may point into w, x or z
		{"func inc() { y++ }", nil},           // declaring runs nothing
		{"inc()", []string{"y"}},              // what inc writes
	}
	for k, tt := range tests {
		before := map[string]string{}
		for _, v := range vars {
			before[v], _ = s.valueVersion(v)
		}
		mustRun(t, s, tt.code, len(setup)+k+1)
		var changed []string
		for _, v := range vars {
			if now, _ := s.valueVersion(v); now != before[v] {
				changed = append(changed, v)
			}
		}
		if !slices.Equal(changed, tt.changed) {
			t.Errorf("%q changed %s, want %s", tt.code, strings.Join(changed, " "), strings.Join(tt.changed, " "))
		}
	}
}
