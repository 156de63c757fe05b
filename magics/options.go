package magics

import (
	"strconv"
	"strings"
	"time"
)

// OptionSpec declares the options a magic accepts, in the style of
// IPython's parse_options: short options are one letter ("n", "q"), long
// options are words ("cpu-only"); those listed in Values take a value.
type OptionSpec struct {
	Flags  []string // options without a value: "q", "o", "cpu-only"
	Values []string // options with a value: "n", "r", "duration"
}

// Options are parsed options.
type Options struct {
	set    map[string]bool
	values map[string]string
}

// Has reports whether the option was given.
func (o Options) Has(name string) bool { return o.set[name] }

// String returns the option's value, or def when it was not given.
func (o Options) String(name, def string) string {
	if v, ok := o.values[name]; ok {
		return v
	}
	return def
}

// Int returns the option's value as an integer, or def when it was not
// given.
func (o Options) Int(name string, def int) (int, error) {
	v, ok := o.values[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, UsageError("option %s needs a whole number, not %q", dashed(name), v)
	}
	return n, nil
}

// Float returns the option's value as a number, or def when it was not
// given.
func (o Options) Float(name string, def float64) (float64, error) {
	v, ok := o.values[name]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, UsageError("option %s needs a number, not %q", dashed(name), v)
	}
	return f, nil
}

// Duration returns the option's value as a duration, or def when it was
// not given. A plain number is taken as seconds ("2" or "0.5"); Go
// durations ("500ms", "2s") work too.
func (o Options) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := o.values[name]
	if !ok {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, UsageError("option %s needs a duration such as 2s or 500ms, not %q", dashed(name), v)
	}
	return d, nil
}

// ParseOptions reads the options at the start of args and returns them
// with the rest of args, untouched. As in IPython, "-n100" and "-n 100"
// both work, flags can be grouped ("-qo"), long options take "--name value"
// or "--name=value", and "--" ends the options. Parsing stops at the first
// word that does not start with "-". An unknown option is a UsageError.
func ParseOptions(args string, spec OptionSpec) (Options, string, error) {
	o := Options{set: map[string]bool{}, values: map[string]string{}}
	isFlag := map[string]bool{}
	for _, f := range spec.Flags {
		isFlag[f] = true
	}
	takesValue := map[string]bool{}
	for _, v := range spec.Values {
		takesValue[v] = true
	}
	rest := strings.TrimLeft(args, " \t")
	for rest != "" && rest[0] == '-' {
		word, after := nextWord(rest)
		switch {
		case word == "--":
			return o, strings.TrimLeft(after, " \t"), nil
		case strings.HasPrefix(word, "--"):
			name, value, hasValue := strings.Cut(word[2:], "=")
			switch {
			case isFlag[name] && !hasValue:
				o.set[name] = true
			case takesValue[name]:
				if !hasValue {
					var err error
					value, after, err = optionValue(after, name)
					if err != nil {
						return o, "", err
					}
				}
				o.set[name], o.values[name] = true, unquote(value)
			default:
				return o, "", UsageError("option --%s not recognized", name)
			}
		default:
			if len(word) < 2 || !isOptionLetter(word[1]) {
				// "-1" or "-x*y": a statement, not an option.
				return o, rest, nil
			}
			letters := word[1:]
			for i := 0; i < len(letters); i++ {
				name := letters[i : i+1]
				if isFlag[name] {
					o.set[name] = true
					continue
				}
				if !takesValue[name] {
					return o, "", UsageError("option -%s not recognized", name)
				}
				value := letters[i+1:]
				if value == "" {
					var err error
					value, after, err = optionValue(after, name)
					if err != nil {
						return o, "", err
					}
				}
				o.set[name], o.values[name] = true, unquote(value)
				break
			}
		}
		rest = strings.TrimLeft(after, " \t")
	}
	return o, rest, nil
}

func isOptionLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-'
}

// nextWord splits s at its first run of spaces, keeping a quoted word whole.
func nextWord(s string) (word, rest string) {
	inQuote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '"' || c == '\'':
			inQuote = c
		case c == ' ' || c == '\t' || c == '\n':
			return s[:i], s[i:]
		}
	}
	return s, ""
}

func optionValue(after, name string) (value, rest string, err error) {
	after = strings.TrimLeft(after, " \t")
	if after == "" {
		return "", "", UsageError("option %s needs a value", dashed(name))
	}
	value, rest = nextWord(after)
	return value, rest, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
