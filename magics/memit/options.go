package memit

import (
	"strings"
	"time"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/native"
)

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

// declare declares memory_profiler's options -r -t -i -c -o -q, and
// perfnb's -m/--limit, bound to o.
func (o *options) declare() *magics.OptionSet {
	s := magics.NewOptionSet()
	s.Int(&o.repeat, "r", 1, "run the body `R` times (setup before each) and report the largest peak").AtLeast(1)
	s.Duration(&o.timeout, "t", 0, "stop the child after `T` seconds").AtLeast(0).Default("no limit")
	s.Duration(&o.interval, "i", 100*time.Millisecond, "sample resident memory every `I` seconds, where it is sampled").Positive()
	s.Flag(&o.children, "c", "include child processes (their sampled resident memory)")
	s.Flag(&o.output, "o", "return the result (a *memit.Result) as the cell's value")
	s.Flag(&o.quiet, "q", "quiet: publish nothing")
	limit := s.Size(&o.limit, "m", 0, "the child's memory `LIMIT`, such as 512MiB or 2GiB").AtLeast(1 << 20).
		Default("$" + native.MemoryLimitEnv + ", else half the available memory")
	s.Alias(limit, "limit")
	return s
}

// parseOptions reads a %memit or %%memit call's options.
func parseOptions(call magics.Call) (options, error) {
	var opts options
	rest, err := opts.declare().Parse(call.Args)
	if err != nil {
		return options{}, err
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
