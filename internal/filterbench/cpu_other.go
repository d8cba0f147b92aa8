//go:build !linux

package filterbench

import "time"

// ThreadCPU falls back to the wall clock where the thread CPU clock is not wired up.
func ThreadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
