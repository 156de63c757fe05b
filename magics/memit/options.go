package memit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
)

// optionSpec lists %memit's options: memory_profiler's -r -t -i -c -o -q,
// and perfnb's -m/--limit.
var optionSpec = magics.OptionSpec{
	Flags:  []string{"c", "o", "q"},
	Values: []string{"r", "t", "i", "m", "limit"},
}

// options are %memit's parsed options.
type options struct {
	repeat   int           // -r: runs of the body; the largest peak is reported
	timeout  time.Duration // -t: time limit of the whole child; 0 for none
	interval time.Duration // -i: sampling interval where sampling is used
	children bool          // -c: add child processes' resident memory
	output   bool          // -o: return the *Result
	quiet    bool          // -q: publish nothing
	limit    int64         // -m/--limit: bytes; 0 for the default
	setup    string        // cell mode: the rest of the magic line
	body     string        // the statement (line mode) or the cell body
}

// parseOptions reads a %memit or %%memit call's options.
func parseOptions(call magics.Call) (options, error) {
	o, rest, err := magics.ParseOptions(call.Args, optionSpec)
	if err != nil {
		return options{}, err
	}
	opts := options{
		children: o.Has("c"),
		output:   o.Has("o"),
		quiet:    o.Has("q"),
	}
	if opts.repeat, err = o.Int("r", 1); err != nil {
		return options{}, err
	}
	if opts.repeat < 1 {
		return options{}, usageError("option -r needs a number of repeats of at least 1, not %d", opts.repeat)
	}
	if opts.timeout, err = o.Duration("t", 0); err != nil {
		return options{}, err
	}
	if opts.timeout < 0 {
		return options{}, usageError("option -t needs a positive timeout in seconds")
	}
	if opts.interval, err = o.Duration("i", 100*time.Millisecond); err != nil {
		return options{}, err
	}
	if opts.interval <= 0 {
		return options{}, usageError("option -i needs a positive interval in seconds")
	}
	limit := o.String("limit", o.String("m", ""))
	if limit != "" {
		if opts.limit, err = parseSize(limit); err != nil {
			return options{}, usageError("option -m/--limit: %v", err)
		}
	}
	if call.Cell {
		opts.setup, opts.body = strings.TrimSpace(rest), call.Body
	} else {
		opts.body = strings.TrimSpace(rest)
	}
	if strings.TrimSpace(opts.body) == "" {
		if call.Cell {
			return options{}, usageError("%%%%memit needs a body: the lines after the magic line are measured")
		}
		return options{}, usageError("%%memit needs a statement, for example: %%memit s := make([]byte, 64<<20)")
	}
	return opts, nil
}

// sizeUnits maps the units parseSize accepts to their sizes in bytes. The
// binary units are the ones GOMEMLIMIT accepts; K, M, G and T are taken
// as binary too, KB, MB, GB and TB as decimal.
var sizeUnits = map[string]float64{
	"b":   1,
	"k":   1 << 10,
	"kib": 1 << 10,
	"kb":  1e3,
	"m":   1 << 20,
	"mib": 1 << 20,
	"mb":  1e6,
	"g":   1 << 30,
	"gib": 1 << 30,
	"gb":  1e9,
	"t":   1 << 40,
	"tib": 1 << 40,
	"tb":  1e12,
}

// parseSize reads a memory size such as "512MiB", "2GiB", "1.5G" or
// "300MB". A number without a unit is in MiB, the unit %memit reports in.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := s, "mib"
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a memory size; write it like 512MiB or 2GiB (a plain number is MiB)", s)
	}
	bytes := f * mult
	if bytes < 1<<20 {
		return 0, fmt.Errorf("%q is too small a memory limit; give at least 1MiB", s)
	}
	if bytes > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large a memory limit", s)
	}
	return int64(bytes), nil
}

func usageError(format string, args ...any) error {
	return &kernel.Error{Name: "UsageError", Value: fmt.Sprintf(format, args...)}
}
