package interp

import (
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// benchItem is a Statement item that every rewrite touches.
const benchItem = `total := 0
for i := range n {
	for j := 0; j < i; j++ {
		go func() { _ = j }()
		defer fmt.Println(i, j)
	}
	total += int(unsafe.Offsetof(s.b))
}
if total > 0 {
	fmt.Println(total)
}`

// BenchmarkRewrite measures what Eval does to an item's source before
// yaegi sees it: parse, rewrite, print.
func BenchmarkRewrite(b *testing.B) {
	isConst := func(string) bool { return false }
	intGlobal := func(string) bool { return true }
	intResult := func(string) string { return "" }
	for b.Loop() {
		seq := 0
		a := analyze(cell.Statement, benchItem, isConst, &seq)
		a.rewrite(cell.Statement, 1, 1, &seq, intGlobal, intResult)
		_ = a.t.printItem(1, 1)
	}
}
