package interp

import (
	"context"
	"testing"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/runtime/cell"
)

func TestZZRepro(t *testing.T) {
	for _, c := range [][]cell.Item{
		{{Kind: cell.Declaration, Source: "func k() {\n\tpanic(\"deep\")\n}"}, {Kind: cell.Statement, Source: "x := 1\n\nfmt.Println(x)\nk()"}},
		{{Kind: cell.Statement, Source: "x := []int{1}\nfor i := 0; i < 5; i++ {\n\t_ = x[i]\n}"}},
		{{Kind: cell.Statement, Source: "x := 1\n  fmt.Println(x); y := x+1; fmt.Println(y); panic(y)"}},
		{{Kind: cell.Statement, Source: "return"}},
		{{Kind: cell.Statement, Source: "x := 1\nif x > 0 { return }"}},
	} {
		i := newInterp(t)
		pub := newPub()
		for _, it := range c {
			it.Line = 1
			v, has, err := i.Eval(context.Background(), it, 1, pub)
			t.Logf("%q: %v %v %v", it.Source, v, has, err)
			if ke, ok := err.(*kernel.Error); ok {
				for _, l := range ke.Traceback {
					t.Log(l)
				}
			}
		}
		t.Logf("stdout %q stderr %q", pub.text("stdout"), pub.text("stderr"))
	}
}
