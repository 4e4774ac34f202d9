package bad

import (
	"context"
	"time"
)

func deadlines(ctx context.Context) {
	_, c1 := context.WithTimeout(ctx, time.Second)            // want "context-timer"
	_, c2 := context.WithDeadline(ctx, time.Time{})           // want "context-timer"
	_, c3 := context.WithTimeoutCause(ctx, time.Second, nil)  // want "context-timer"
	_, c4 := context.WithDeadlineCause(ctx, time.Time{}, nil) // want "context-timer"
	stop := context.AfterFunc(ctx, func() {})                 // want "context-timer"
	withTimeout := context.WithTimeout                        // want "context-timer"
	_, _, _, _, _, _ = c1, c2, c3, c4, stop, withTimeout
}
