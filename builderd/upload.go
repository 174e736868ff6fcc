package builderd

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"kojigo/builderd/logstream"
)

// uploader sends files to the task's directory on the hub as they are
// handed to it. With a hub that opens subsessions, two go at once, over
// the daemon's session and a subsession of it (calls on one session are
// sent one at a time): the hub hashes and writes one file while the next
// is read and sent. A createrepo task hands it each metadata file as the
// engine finishes it, so that most are on the hub when the engine ends.
type uploader struct {
	ctx      context.Context
	g        *errgroup.Group
	queue    chan string
	closeSub func()
	mu       sync.Mutex
	names    map[string]bool
	once     sync.Once
	sent     []string
	err      error
}

// startUploads starts an uploader; with twoStreams it asks the hub for a
// subsession to upload on as well.
func (t *task) startUploads(ctx context.Context, twoStreams bool) *uploader {
	u := &uploader{queue: make(chan string, 256), names: map[string]bool{}}
	hubs := []Hub{t.d.hub}
	if sh, ok := t.d.hub.(subsessionHub); ok && twoStreams {
		switch sub, closeSub, err := sh.openSubsession(ctx); {
		case err != nil:
			t.log.Warn("uploading one file at a time: no subsession", "err", err)
		case sub != nil:
			u.closeSub = closeSub
			hubs = append(hubs, sub)
		}
	}
	u.g, u.ctx = errgroup.WithContext(ctx)
	for _, h := range hubs {
		u.g.Go(func() error {
			for p := range u.queue {
				if u.ctx.Err() != nil {
					continue // another upload failed: drain
				}
				name := filepath.Base(p)
				if err := h.UploadFile(u.ctx, p, t.uploadDir(), name, nil); err != nil {
					return fmt.Errorf("upload %s: %w", name, err)
				}
			}
			return nil
		})
	}
	return u
}

// add queues the file at path, under its base name; a name already queued
// is not sent again. The file must not change until wait returns.
func (u *uploader) add(path string) error {
	name := filepath.Base(path)
	if err := logstream.CheckName(name); err != nil {
		return buildErrorf("cannot upload %s: %v", path, err)
	}
	u.mu.Lock()
	dup := u.names[name]
	u.names[name] = true
	u.mu.Unlock()
	if dup {
		return nil
	}
	select {
	case u.queue <- path:
		return nil
	case <-u.ctx.Done():
		return fmt.Errorf("upload %s: %w", name, context.Cause(u.ctx))
	}
}

// has reports whether a file of that name was queued.
func (u *uploader) has(name string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.names[name]
}

// wait sends what was queued, closes the subsession and returns the names
// sent, sorted, or the first failure. Nothing may be added after; calls
// after the first return what it did.
func (u *uploader) wait() ([]string, error) {
	u.once.Do(func() {
		close(u.queue)
		u.err = u.g.Wait()
		if u.closeSub != nil {
			u.closeSub()
		}
		if u.err == nil {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.sent = slices.Sorted(maps.Keys(u.names))
		}
	})
	return u.sent, u.err
}
