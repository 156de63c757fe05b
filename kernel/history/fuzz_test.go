package history

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzGlob checks the glob matcher against a regular expression built from
// the same pattern (Go's regexp, linear and independent of it).
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"x*", "x := 1"}, {"*x*", "fmt.Println(x)"}, {"[^a-c]?*", "d\n"}, {"[]a]", "]"},
		{"[a-", "[a-"}, {"*é?", "ééé"}, {"a**b*c", "abxc"}, {"", "anything"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		re, err := regexp.Compile(oracle(pattern))
		if err != nil {
			return // a class regexp reads differently ([z-a], [[:alpha:]])
		}
		if got, want := compileGlob(pattern).match(s), re.MatchString(s); got != want {
			t.Errorf("glob %q on %q: %v, the regexp %v", pattern, s, got, want)
		}
	})
}

// oracle translates a glob into a regular expression: the translation
// the history used before it matched globs itself.
func oracle(pattern string) string {
	if pattern == "" {
		pattern = "*"
	}
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	p := []rune(pattern)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				b.WriteString(`\[`)
				continue
			}
			class := string(p[i+1 : j])
			b.WriteByte('[')
			if rest, ok := strings.CutPrefix(class, "^"); ok {
				b.WriteByte('^')
				class = rest
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(class))
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}
