package db

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// hostView is this process's copy of the hosts and their channels, from
// which ListHostsCached answers: consoles and scripts poll listHosts far
// more often than hosts change, and reading every row on every poll was
// most of the call. The Store's own host writes show in the copy at once (a
// check-in patches its host; any other host write drops the copy when it
// commits); writes by another process, such as a second hub on the same
// PostgreSQL, show within maxAge.
type hostView struct {
	maxAge time.Duration

	mu      sync.RWMutex
	hosts   []Host            // by id
	chans   map[int64][]int64 // host id -> channel ids
	at      time.Time         // when the copy was read
	valid   bool
	drops   uint64        // invalidations so far: a copy read across one is not kept
	loading chan struct{} // closed when the read in flight ends
	pending []statusPatch // check-ins committed while the copy was being read
}

// statusPatch is what a check-in changes in the copy.
type statusPatch struct {
	id    int64
	load  float64
	ready bool
	at    float64
}

// invalidate drops the copy: the next list reads the tables again.
func (v *hostView) invalidate() {
	v.mu.Lock()
	v.valid = false
	v.drops++
	v.mu.Unlock()
}

// checkIn applies a committed check-in to the copy.
func (v *hostView) checkIn(c statusPatch) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.loading != nil {
		v.pending = append(v.pending, c)
	}
	if v.valid {
		v.valid = apply(v.hosts, c)
	}
}

// apply patches hosts with c unless the copy already holds a later check-in
// of that host; false if the host is not in the copy.
func apply(hosts []Host, c statusPatch) bool {
	i, ok := slices.BinarySearchFunc(hosts, c.id, func(h Host, id int64) int {
		return cmp.Compare(h.ID, id)
	})
	if !ok {
		return false
	}
	h := &hosts[i]
	if h.UpdateTime == nil || *h.UpdateTime <= c.at {
		at := c.at
		h.TaskLoad, h.Ready, h.UpdateTime = c.load, c.ready, &at
	}
	return true
}

// list returns the hosts matching f from a copy no older than maxAge, or
// from the database when the copy keeps being dropped while it is read;
// withChans adds the channel ids of each host (by host id), from the same
// copy.
func (v *hostView) list(ctx context.Context, s *Store, f HostFilter, withChans bool) ([]Host, map[int64][]int64, error) {
	for range 3 {
		v.mu.RLock()
		if v.valid && time.Since(v.at) < v.maxAge {
			out := v.filter(f)
			var chans map[int64][]int64
			if withChans {
				chans = make(map[int64][]int64, len(out))
				for _, h := range out {
					if c := v.chans[h.ID]; len(c) > 0 {
						chans[h.ID] = slices.Clone(c)
					}
				}
			}
			v.mu.RUnlock()
			return out, chans, nil
		}
		wait := v.loading
		v.mu.RUnlock()
		if wait == nil {
			if err := v.load(ctx, s); err != nil {
				return nil, nil, err
			}
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	hosts, err := s.ListHosts(ctx, f)
	if err != nil || !withChans {
		return hosts, nil, err
	}
	chans, err := s.HostChannels(ctx)
	return hosts, chans, err
}

// load reads the tables, unless another caller is already reading them.
func (v *hostView) load(ctx context.Context, s *Store) error {
	v.mu.Lock()
	if v.loading != nil {
		v.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	v.loading, v.pending = done, nil
	drops := v.drops
	v.mu.Unlock()

	at := time.Now()
	hosts, err := s.ListHosts(ctx, HostFilter{})
	var chans map[int64][]int64
	if err == nil {
		chans, err = s.HostChannels(ctx)
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	defer close(done)
	v.loading = nil
	if err != nil || v.drops != drops {
		return err
	}
	for _, c := range v.pending {
		apply(hosts, c)
	}
	v.hosts, v.chans, v.at, v.valid, v.pending = hosts, chans, at, true, nil
	return nil
}

// filter applies f as ListHosts's SQL does. Callers hold mu.
func (v *hostView) filter(f HostFilter) []Host {
	out := []Host{}
	for _, h := range v.hosts {
		switch {
		case f.Ready != nil && h.Ready != *f.Ready,
			f.Enabled != nil && h.Enabled != *f.Enabled,
			f.UserID != nil && h.UserID != *f.UserID,
			f.ChannelID != nil && !slices.Contains(v.chans[h.ID], *f.ChannelID),
			len(f.Arches) > 0 && !hasAnyArch(h.Arches, f.Arches):
			continue
		}
		out = append(out, h)
	}
	return out
}

func hasAnyArch(arches string, want []string) bool {
	for a := range strings.FieldsSeq(arches) {
		if slices.Contains(want, a) {
			return true
		}
	}
	return false
}
