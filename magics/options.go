package magics

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/perfnb/perfnb/internal/bytesize"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// OptionSet declares a magic's options once, as the flag package and
// IPython's magic_arguments do: each option's name, the variable it sets,
// its default and its help. Parse reads a call's options into those
// variables, and words the UsageError of a wrong use from the
// declarations; Synopsis and Help describe them for the magic's Doc,
// which %lsmagic and %name? show.
//
// Names of one letter are short options (-n), longer ones are long
// options (--duration). As in IPython, "-n100" and "-n 100" both work,
// flags can be grouped ("-qo"), long options take "--name value" or
// "--name=value", and "--" ends the options.
type OptionSet struct {
	opts   []*Option
	byName map[string]*Option
}

// Option is one declared option.
type Option struct {
	names []string // the name, then its aliases
	help  string   // with the value's name in backquotes
	def   string   // the default as written in the help; "" for none
	value value    // nil for a flag
	flag  *bool
	given bool
	check func() error // a range, set by AtLeast and Above
}

// value is an option's variable.
type value interface {
	set(s string) error      // s as the user wrote it
	reset()                  // back to the default
	number() float64         // for range checks; 0 for strings
	format(x float64) string // a number as this kind of value: "2s", "1.0 MiB"
	what() string            // "a whole number", "a duration such as 2s"
}

// NewOptionSet returns an empty set of options.
func NewOptionSet() *OptionSet {
	return &OptionSet{byName: map[string]*Option{}}
}

func (s *OptionSet) add(o *Option, name string) *Option {
	if _, dup := s.byName[name]; dup {
		panic("magics: option " + dashed(name) + " declared twice")
	}
	o.names = []string{name}
	s.opts = append(s.opts, o)
	s.byName[name] = o
	return o
}

// Flag declares a flag, an option without a value, that sets *p.
func (s *OptionSet) Flag(p *bool, name, help string) *Option {
	return s.add(&Option{flag: p, help: help}, name)
}

// Int declares an option whose value is a whole number.
func (s *OptionSet) Int(p *int, name string, def int, help string) *Option {
	return s.add(&Option{value: &intValue{p, def}, help: help, def: strconv.Itoa(def)}, name)
}

// Float declares an option whose value is a number.
func (s *OptionSet) Float(p *float64, name string, def float64, help string) *Option {
	return s.add(&Option{value: &floatValue{p, def}, help: help, def: strconv.FormatFloat(def, 'g', -1, 64)}, name)
}

// Duration declares an option whose value is a duration: a plain number
// is seconds ("2", "0.5"), Go durations ("500ms", "2s") work too. A
// default of 0 is not shown.
func (s *OptionSet) Duration(p *time.Duration, name string, def time.Duration, help string) *Option {
	o := &Option{value: &durationValue{p, def}, help: help}
	if def != 0 {
		o.def = formatDuration(def)
	}
	return s.add(o, name)
}

// String declares an option whose value is text; a default of "" is not
// shown.
func (s *OptionSet) String(p *string, name, def, help string) *Option {
	return s.add(&Option{value: &stringValue{p, def}, help: help, def: def}, name)
}

// Size declares an option whose value is a size (bytesize.Parse: 512MiB,
// 2GiB; a number without a unit is bytes). A default of 0 is not shown.
func (s *OptionSet) Size(p *int64, name string, def int64, help string) *Option {
	o := &Option{value: &sizeValue{p, def}, help: help}
	if def != 0 {
		o.def = sysmem.FormatBytes(float64(def))
	}
	return s.add(o, name)
}

// Alias adds another name for o: --limit for -m.
func (s *OptionSet) Alias(o *Option, name string) {
	if _, dup := s.byName[name]; dup {
		panic("magics: option " + dashed(name) + " declared twice")
	}
	o.names = append(o.names, name)
	s.byName[name] = o
}

// Default replaces the default shown in the help: for a value whose
// default is chosen when the magic runs ("half the available memory").
func (o *Option) Default(text string) *Option {
	o.def = text
	return o
}

// AtLeast makes a value below min a UsageError.
func (o *Option) AtLeast(min float64) *Option {
	o.check = func() error {
		if o.value.number() < min {
			return UsageError("option %s needs %s of at least %s, not %s", o.spelling(), o.value.what(), o.value.format(min), o.raw())
		}
		return nil
	}
	return o
}

// AtMost makes a value above max a UsageError, besides AtLeast's check.
func (o *Option) AtMost(max float64) *Option {
	prev := o.check
	o.check = func() error {
		if prev != nil {
			if err := prev(); err != nil {
				return err
			}
		}
		if o.value.number() > max {
			return UsageError("option %s needs %s of at most %s, not %s", o.spelling(), o.value.what(), o.value.format(max), o.raw())
		}
		return nil
	}
	return o
}

// Positive makes a value of 0 or less a UsageError.
func (o *Option) Positive() *Option {
	o.check = func() error {
		if o.value.number() <= 0 {
			return UsageError("option %s needs %s above 0, not %s", o.spelling(), o.value.what(), o.raw())
		}
		return nil
	}
	return o
}

// raw is the value as set, for error messages.
func (o *Option) raw() string { return o.value.format(o.value.number()) }

// spelling is the option as typed: -n, --duration.
func (o *Option) spelling() string { return dashed(o.names[0]) }

// argName is the name of the option's value: the word in backquotes in
// its help, as the flag package reads it, else "VALUE".
func (o *Option) argName() string {
	if _, rest, ok := strings.Cut(o.help, "`"); ok {
		if name, _, ok := strings.Cut(rest, "`"); ok {
			return name
		}
	}
	return "VALUE"
}

// Given reports whether the option named name was given in the last
// Parse.
func (s *OptionSet) Given(name string) bool {
	o := s.byName[name]
	return o != nil && o.given
}

// Parse sets every option's variable to its default, then reads the
// options at the start of args and returns the rest of args, untouched.
// Parsing stops at the first word that does not start with "-" (or is a
// negative number or expression, "-1", "-x*y"). An unknown option, a
// missing or malformed value, or a value out of its range is a
// UsageError.
func (s *OptionSet) Parse(args string) (string, error) {
	for _, o := range s.opts {
		o.given = false
		if o.flag != nil {
			*o.flag = false
		} else {
			o.value.reset()
		}
	}
	rest := strings.TrimLeft(args, " \t")
	for rest != "" && rest[0] == '-' {
		word, after := nextWord(rest)
		if word == "--" {
			rest = strings.TrimLeft(after, " \t")
			break
		}
		if !strings.HasPrefix(word, "--") && (len(word) < 2 || !isOptionLetter(word[1])) {
			break // "-1" or "-x*y": a statement, not an option
		}
		var err error
		if after, err = s.parseWord(word, after); err != nil {
			return "", err
		}
		rest = strings.TrimLeft(after, " \t")
	}
	for _, o := range s.opts {
		if o.given && o.check != nil {
			if err := o.check(); err != nil {
				return "", err
			}
		}
	}
	return rest, nil
}

// parseWord reads one option word ("--name", "--name=value", "-qo",
// "-n100"), taking its value from after when it is not in the word, and
// returns what follows.
func (s *OptionSet) parseWord(word, after string) (string, error) {
	if long, ok := strings.CutPrefix(word, "--"); ok {
		name, value, hasValue := strings.Cut(long, "=")
		o := s.byName[name]
		if o == nil || len(name) == 1 {
			return "", UsageError("option --%s not recognized%s", name, s.known())
		}
		if o.flag != nil && hasValue {
			return "", UsageError("option --%s takes no value", name)
		}
		return s.setOption(o, name, value, hasValue, after)
	}
	letters := word[1:]
	for i := 0; i < len(letters); i++ {
		name := letters[i : i+1]
		o := s.byName[name]
		if o == nil {
			return "", UsageError("option -%s not recognized%s", name, s.known())
		}
		if o.flag == nil {
			value := letters[i+1:]
			return s.setOption(o, name, value, value != "", after)
		}
		o.given, *o.flag = true, true
	}
	return after, nil
}

// setOption sets o, given as name, to value, or to the next word of
// after when it has none.
func (s *OptionSet) setOption(o *Option, name, value string, hasValue bool, after string) (string, error) {
	if o.flag != nil {
		o.given, *o.flag = true, true
		return after, nil
	}
	if !hasValue {
		after = strings.TrimLeft(after, " \t")
		if after == "" {
			return "", UsageError("option %s needs a value: %s %s", dashed(name), dashed(name), o.argName())
		}
		value, after = nextWord(after)
	}
	if err := o.value.set(unquote(value)); err != nil {
		return "", UsageError("option %s needs %s, not %q", dashed(name), o.value.what(), unquote(value))
	}
	o.given = true
	return after, nil
}

// known lists the options, for an unknown one's error.
func (s *OptionSet) known() string {
	if len(s.opts) == 0 {
		return " (this magic takes no options)"
	}
	return "; the options are " + s.Synopsis()
}

// Synopsis is the options in one line: "[-n N] [-r R] [-q] [--cpu-only]".
func (s *OptionSet) Synopsis() string {
	var parts []string
	for _, o := range s.opts {
		parts = append(parts, "["+o.usage()+"]")
	}
	return strings.Join(parts, " ")
}

// usage is the option as written with its value's name: "-n N",
// "--duration D", "-m LIMIT|--limit LIMIT".
func (o *Option) usage() string {
	var spellings []string
	for _, n := range o.names {
		u := dashed(n)
		if o.flag == nil {
			u += " " + o.argName()
		}
		spellings = append(spellings, u)
	}
	return strings.Join(spellings, "|")
}

// Help lists the options one a line, with their help and defaults, as
// flag.PrintDefaults does.
func (s *OptionSet) Help() string {
	width := 0
	for _, o := range s.opts {
		width = max(width, len(o.usage()))
	}
	var b strings.Builder
	for _, o := range s.opts {
		help := strings.ReplaceAll(o.help, "`", "")
		if o.def != "" {
			help += " (default " + o.def + ")"
		}
		fmt.Fprintf(&b, "  %-*s  %s\n", width, o.usage(), help)
	}
	return b.String()
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

type intValue struct {
	p   *int
	def int
}

func (v *intValue) set(s string) (err error) { *v.p, err = strconv.Atoi(s); return err }
func (v *intValue) reset()                   { *v.p = v.def }
func (v *intValue) number() float64          { return float64(*v.p) }
func (v *intValue) what() string             { return "a whole number" }
func (v *intValue) format(x float64) string  { return strconv.FormatFloat(x, 'f', -1, 64) }

type floatValue struct {
	p   *float64
	def float64
}

func (v *floatValue) set(s string) (err error) { *v.p, err = strconv.ParseFloat(s, 64); return err }
func (v *floatValue) reset()                   { *v.p = v.def }
func (v *floatValue) number() float64          { return *v.p }
func (v *floatValue) what() string             { return "a number" }
func (v *floatValue) format(x float64) string  { return strconv.FormatFloat(x, 'g', -1, 64) }

type durationValue struct {
	p   *time.Duration
	def time.Duration
}

func (v *durationValue) set(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*v.p = time.Duration(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	*v.p = d
	return err
}
func (v *durationValue) reset()          { *v.p = v.def }
func (v *durationValue) number() float64 { return v.p.Seconds() }
func (v *durationValue) what() string    { return "a duration such as 2s or 500ms" }
func (v *durationValue) format(x float64) string {
	return formatDuration(time.Duration(x * float64(time.Second)))
}

// formatDuration writes d as a user would: 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type stringValue struct {
	p   *string
	def string
}

func (v *stringValue) set(s string) error    { *v.p = s; return nil }
func (v *stringValue) reset()                { *v.p = v.def }
func (v *stringValue) number() float64       { return 0 }
func (v *stringValue) what() string          { return "a value" }
func (v *stringValue) format(float64) string { return *v.p }

type sizeValue struct {
	p   *int64
	def int64
}

func (v *sizeValue) set(s string) (err error) { *v.p, err = bytesize.Parse(s); return err }
func (v *sizeValue) reset()                   { *v.p = v.def }
func (v *sizeValue) number() float64          { return float64(*v.p) }
func (v *sizeValue) what() string             { return "a size such as 512MiB or 2GiB" }
func (v *sizeValue) format(x float64) string  { return sysmem.FormatBytes(x) }
