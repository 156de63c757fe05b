package memit

import (
	"fmt"
	"strings"
	"time"

	"github.com/perfnb/perfnb/internal/bytesize"
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
		return options{}, magics.UsageError("option -r needs a number of repeats of at least 1, not %d", opts.repeat)
	}
	if opts.timeout, err = o.Duration("t", 0); err != nil {
		return options{}, err
	}
	if opts.timeout < 0 {
		return options{}, magics.UsageError("option -t needs a positive timeout in seconds")
	}
	if opts.interval, err = o.Duration("i", 100*time.Millisecond); err != nil {
		return options{}, err
	}
	if opts.interval <= 0 {
		return options{}, magics.UsageError("option -i needs a positive interval in seconds")
	}
	limit := o.String("limit", o.String("m", ""))
	if limit != "" {
		if opts.limit, err = parseLimit(limit); err != nil {
			return options{}, magics.UsageError("option -m/--limit: %v", err)
		}
	}
	if call.Cell {
		opts.setup, opts.body = strings.TrimSpace(rest), call.Body
	} else {
		opts.body = strings.TrimSpace(rest)
	}
	if strings.TrimSpace(opts.body) == "" {
		if call.Cell {
			return options{}, magics.UsageError("%%%%memit needs a body: the lines after the magic line are measured")
		}
		return options{}, magics.UsageError("%%memit needs a statement, for example: %%memit s := make([]byte, 64<<20)")
	}
	return opts, nil
}

// parseLimit reads the -m/--limit size (see bytesize.Parse; a number
// without a unit is bytes), which must be at least 1 MiB.
func parseLimit(s string) (int64, error) {
	n, err := bytesize.Parse(s)
	if err != nil {
		return 0, err
	}
	if n < 1<<20 {
		return 0, fmt.Errorf("%q is too small a memory limit (a number without a unit is bytes); give at least 1MiB, for example 512MiB", s)
	}
	return n, nil
}
