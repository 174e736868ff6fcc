package db

import "sync"

// Wrote names what one of this Store's committed writes changed (OnWrite).
type Wrote uint8

const (
	// WroteTasks: rows of tasks were inserted, changed or deleted.
	WroteTasks Wrote = 1 << iota
	// WroteHosts: hosts or host_channels changed, check-ins aside (see OnWrite).
	WroteHosts
)

// writeSubs are OnWrite's subscribers.
type writeSubs struct {
	mu   sync.Mutex
	subs []func(Wrote)
}

func (w *writeSubs) announce(what Wrote) {
	w.mu.Lock()
	subs := w.subs
	w.mu.Unlock()
	for _, fn := range subs {
		fn(what)
	}
}

// OnWrite calls fn after each write of this Store (the one process's, not
// other processes': see OnTaskEvent) to tasks or to hosts has committed: a
// transaction's writes once, when it commits; a write that failed, since it
// may have happened, too. CheckIn outside a transaction is not announced:
// whether a check-in changed anything worth telling is the caller's to
// judge. fn runs on the writer's goroutine and must return at once.
func (s *Store) OnWrite(fn func(Wrote)) {
	s.writes.mu.Lock()
	s.writes.subs = append(s.writes.subs[:len(s.writes.subs):len(s.writes.subs)], fn)
	s.writes.mu.Unlock()
}
