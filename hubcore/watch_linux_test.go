package hubcore

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Twenty consoles waiting on an idle hub cost a blocked goroutine each (the
// request's own) and no CPU; one change wakes all of them.
func TestWaitChangesIdleWaitersCostNothing(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		const n = 20
		tok := th.anon().quietToken()
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
		before := runtime.NumGoroutine()
		type answer struct {
			v   any
			err error
		}
		done := make(chan answer, n)
		for range n {
			go func() {
				c := &call{ctx: context.Background(), hub: th.hub, method: "kojigo.waitChanges"}
				v, f := th.hub.dispatch(c, "kojigo.waitChanges", []any{tok, 30.0}, nil)
				if f != nil {
					done <- answer{nil, f}
					return
				}
				done <- answer{v, nil}
			}()
		}
		time.Sleep(100 * time.Millisecond) // let them block
		if g := runtime.NumGoroutine() - before; g > n {
			t.Errorf("%d waiters run %d goroutines, want one each", n, g)
		}
		const idle = time.Second
		cpu0 := cpuTime(t)
		time.Sleep(idle)
		used := cpuTime(t) - cpu0
		t.Logf("%d waiters on an idle hub: %v of CPU in %v", n, used, idle)
		if used > 50*time.Millisecond {
			t.Errorf("%d idle waiters used %v of CPU in %v, want next to none", n, used, idle)
		}
		start := time.Now()
		th.hub.watch.note(changedTasks)
		for range n {
			select {
			case a := <-done:
				m, _ := a.v.(map[string]any)
				if a.err != nil || len(m["changed"].([]any)) != 1 {
					t.Fatalf("waiter answered %v, %v", a.v, a.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a waiter was not woken within 5 s")
			}
		}
		t.Logf("one change woke %d waiters in %v (publication delay included)", n, time.Since(start))
	})
}
