package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/kernel/zmtp"
)

// MaxMessageSizeEnv names the environment variable that sets the largest
// message, in bytes, that the kernel accepts on any of its sockets (the
// default is zmtp.DefaultMaxMessageSize, 64 MiB). A peer that announces a
// larger one is disconnected before anything is allocated for it.
const MaxMessageSizeEnv = "PERFNB_MAX_MESSAGE_SIZE"

// minMaxMessageSize is the smallest maximum accepted: below it, ordinary
// requests would be refused.
const minMaxMessageSize = 64 << 10

// transportLimits returns the limits of the kernel's sockets: the maximum
// message size from the environment, and a budget of incoming bytes that
// the five sockets share, four such messages (at least 256 MiB).
func transportLimits() (zmtp.Limits, error) {
	lim := zmtp.Limits{MaxMessageSize: zmtp.DefaultMaxMessageSize}
	if v := strings.TrimSpace(os.Getenv(MaxMessageSizeEnv)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < minMaxMessageSize {
			return lim, fmt.Errorf("%s=%q: write a number of bytes, at least %d (the default is %d)",
				MaxMessageSizeEnv, v, minMaxMessageSize, zmtp.DefaultMaxMessageSize)
		}
		lim.MaxMessageSize = n
	}
	lim.Pending = zmtp.NewBudget(max(4*lim.MaxMessageSize, 256<<20))
	return lim, nil
}
