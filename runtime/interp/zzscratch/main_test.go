package zzscratch

import (
	"strings"
	"fmt"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/unsafe"
)

func TestX(t *testing.T) {
	for _, src := range []string{
		"func k() {\npanic(1)\n}\x00func() {\nfmt.Println(1)\n\nk()\n}()",
		"func k() {\npanic(1)\n}\x00func() {\nfmt.Println(1)\n\npanic(2)\n}()",
		"func k() {\npanic(1)\n}\x00func() {/*line a.go:2:1*/fmt.Println(1)\n\nk()\n}()",
		"func k() {\npanic(1)\n}\x00\n\nfmt.Println(1)\n\nk()\n",
	} {
		i := interp.New(interp.Options{})
		i.Use(stdlib.Symbols)
		i.Use(unsafe.Symbols)
		i.Eval(`import ("fmt"; "sync"; "unsafe")`)
		for _, src := range strings.Split(src, "\x00") {
		_, err := func() (_ any, err error) { defer func() { if r := recover(); r != nil { err = fmt.Errorf("%v", r) } }(); return i.Eval(src) }()
		t.Logf("%q: %v", src, err)
		if strings.HasPrefix(src,"unsafe") { v, _ := i.Eval(src); t.Log(v) }
}
	}
}
