package kernel

import (
	"fmt"
	"os"
	"strings"

	"github.com/perfnb/perfnb/internal/bytesize"
	"github.com/perfnb/perfnb/kernel/zmtp"
)

// MaxMessageSizeEnv names the environment variable that sets the largest
// message (a size such as 256MiB, or bytes) that the kernel accepts on any of its sockets (the
// default is zmtp.DefaultMaxMessageSize, 64 MiB). A peer that announces a
// larger one is disconnected before anything is allocated for it.
const MaxMessageSizeEnv = "PERFNB_MAX_MESSAGE_SIZE"

// minMaxMessageSize is the smallest maximum accepted: below it, ordinary
// requests would be refused.
const minMaxMessageSize = 64 << 10

// transportLimits returns the limits of the kernel's sockets: the maximum
// message size from the environment, a budget of what peers make the
// kernel hold (incoming bytes and subscriptions) that the five sockets
// share, four such messages (at least 256 MiB), and a budget of the
// messages queued on iopub for subscribers that are behind, two such
// messages (at least 128 MiB).
func transportLimits() (zmtp.Limits, error) {
	lim := zmtp.Limits{MaxMessageSize: zmtp.DefaultMaxMessageSize}
	if v := strings.TrimSpace(os.Getenv(MaxMessageSizeEnv)); v != "" {
		n, err := bytesize.Parse(v)
		if err != nil {
			return lim, fmt.Errorf("%s: %w", MaxMessageSizeEnv, err)
		}
		if n < minMaxMessageSize {
			return lim, fmt.Errorf("%s=%q: the kernel needs at least 64KiB to take ordinary requests (the default is 64MiB)", MaxMessageSizeEnv, v)
		}
		lim.MaxMessageSize = n
	}
	lim.Pending = zmtp.NewBudget(max(4*lim.MaxMessageSize, 256<<20))
	lim.Queued = zmtp.NewBudget(max(2*lim.MaxMessageSize, 128<<20))
	return lim, nil
}
