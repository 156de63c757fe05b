package pprofdriver

import (
	"strings"
	"testing"

	"github.com/perfnb/perfnb/magics/profiles"
)

func TestReportAndPage(t *testing.T) {
	p, err := profiles.Read("../scalene/testdata/cpu.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() (string, error)
		want []string // "" entries: want an error
	}{
		{"top", func() (string, error) { return Report(Profiles{Profile: p, Title: "In[3]"}, "-top", "-nodecount=3") },
			[]string{"File: In[3]", "flat  flat%   sum%        cum   cum%", "Showing top 3 nodes"}},
		{"difference", func() (string, error) { return Report(Profiles{Profile: p, Base: p}, "-top") },
			[]string{"Showing nodes accounting for 0, 0% of"}},
		{"flame graph page", func() (string, error) {
			b, err := Page(Profiles{Profile: p, Title: "In[3]"}, "/flamegraph", "si=cpu")
			return string(b), err
		}, []string{"<title>In[3] cpu</title>", "stackViewer("}},
		{"no such view", func() (string, error) {
			b, err := Page(Profiles{Profile: p}, "/nosuch", "")
			return string(b), err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.run()
			if tt.want == nil {
				if err == nil {
					t.Errorf("no error, got %.200q", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%.1500s", w, out)
				}
			}
		})
	}
}
