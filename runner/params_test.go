package runner

import (
	"github.com/perfnb/perfnb/internal/nbformat"

	"errors"
	"strings"
	"testing"
)

// paramsNotebook is a notebook whose second cell is tagged parameters, and
// which holds a cell tagged injected-parameters left by an earlier run.
const paramsNotebook = `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
 {"cell_type": "markdown", "metadata": {"tags": ["parameters"]}, "source": "not code"},
 {"cell_type": "code", "metadata": {"tags": ["x", "parameters"]}, "outputs": [], "execution_count": null, "source": [
  "import \"time\"\n",
  "n := 1000\n",
  "var small int8 = 1\n",
  "var u uint = 3\n",
  "var ratio float32 = 0.5\n",
  "const label = \"base\"\n",
  "var verbose bool\n",
  "var wait = 2 * time.Second\n",
  "type Size int\n",
  "var size Size = 4\n",
  "var names = []string{\"a\"}\n",
  "var d time.Duration\n",
  "%timeit n"]},
 {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "outputs": [], "execution_count": null, "source": "var n int = 1"},
 {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null, "source": "fmt.Println(n)"}
]}`

func TestInjectParameters(t *testing.T) {
	tests := []struct {
		name   string
		params []Parameter
		want   string // the injected cell's source without its comment line
		err    string
	}{
		{name: "every basic kind", params: []Parameter{{"n", "2000"}, {"small", "-8"}, {"u", "0x10"}, {"ratio", "2"},
			{"label", "new \"one\""}, {"verbose", "true"}, {"wait", "1_000"}, {"size", "7"}, {"d", "5"}},
			want: "var n int = 2000\nvar small int8 = -8\nvar u uint = 0x10\nvar ratio float32 = 2\nconst label = \"new \\\"one\\\"\"\n" +
				"var verbose bool = true\nvar wait time.Duration = 1_000\nvar size Size = 7\nvar d time.Duration = 5"},
		{name: "the last value wins", params: []Parameter{{"n", "1"}, {"label", "x"}, {"n", "2"}},
			want: "const label = \"x\"\nvar n int = 2"},
		{name: "unknown name", params: []Parameter{{"m", "1"}}, err: `-p m: the cell tagged "parameters" declares no m (it declares: n, small, u, ratio, label, verbose, wait, size, names, d)`},
		{name: "not a whole number", params: []Parameter{{"n", "1.5"}}, err: `-p n "1.5": n has type int: the value is not a whole number`},
		{name: "out of range", params: []Parameter{{"small", "300"}}, err: "out of its range"},
		{name: "negative unsigned", params: []Parameter{{"u", "-1"}}, err: "not a whole number"},
		{name: "not a bool", params: []Parameter{{"verbose", "maybe"}}, err: "not true or false"},
		{name: "not a number", params: []Parameter{{"ratio", "half"}}, err: "not a number"},
		{name: "a slice", params: []Parameter{{"names", "a,b"}}, err: "names has type []string; -p gives values to bool, integer, float and string parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := nbformat.Parse([]byte(paramsNotebook))
			if err != nil {
				t.Fatal(err)
			}
			err = injectParameters(nb, tt.params)
			if tt.err != "" {
				var pe *ParameterError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a ParameterError with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(nb.Cells) != 4 {
				t.Fatalf("%d cells, want 4: the old injected cell replaced", len(nb.Cells))
			}
			c := nb.Cells[2]
			if !c.HasTag(nbformat.InjectedTag) || c.Type != "code" {
				t.Fatalf("cell 3 is not the injected code cell: %+v", c)
			}
			_, body, _ := strings.Cut(c.Source, "\n")
			if body != tt.want {
				t.Errorf("injected\n%s\nwant\n%s", body, tt.want)
			}
			if nb.Cells[3].Source != "fmt.Println(n)" {
				t.Errorf("the cells after moved: %q", nb.Cells[3].Source)
			}
		})
	}
}

func TestInjectParametersWithoutTaggedCell(t *testing.T) {
	nb, err := nbformat.Parse([]byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
		{"cell_type": "code", "metadata": {"tags": "parameters"}, "outputs": [], "source": "n := 1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := injectParameters(nb, nil); err != nil || len(nb.Cells) != 1 {
		t.Errorf("no parameters: %v, %d cells", err, len(nb.Cells))
	}
	err = injectParameters(nb, []Parameter{{"n", "2"}})
	var pe *ParameterError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `no code cell tagged "parameters"`) {
		t.Errorf("got %v", err)
	}
}
