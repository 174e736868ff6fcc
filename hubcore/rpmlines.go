package hubcore

import (
	"container/list"
	"sync"

	"kojigo/db"
)

// rpmLinesMax bounds the memory of the rpmlist cache: about 200,000 RPMs.
const rpmLinesMax = 64 << 20

// rpmLineCache keeps, per build, the repo files (rpmlist.jsonl line and
// package path of each RPM) that repoInit derived from the build's RPM
// rows, for as long as the build's rpms_rev and N-V-R stay: a tag's next
// repo reads from the database only the RPMs of the builds tagged since.
// rpms_rev changes with any change to the rows, made by any hub (migration
// 18's triggers), so an entry is never stale, only unused. The least
// recently used builds go first beyond max bytes.
type rpmLineCache struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[int64]*list.Element
	lru     list.List // of *rpmLines, most recently used first
}

type rpmLines struct {
	buildID int64
	rev     int64
	nvr     string
	files   []repoFile
	size    int
}

func newRPMLineCache(max int) *rpmLineCache {
	return &rpmLineCache{max: max, entries: map[int64]*list.Element{}}
}

// get returns the build's files, if they are known for its current
// rpms_rev and N-V-R. The slice is shared: callers copy, never modify.
func (c *rpmLineCache) get(b db.TaggedBuild) ([]repoFile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[b.ID]
	if !ok {
		return nil, false
	}
	l := e.Value.(*rpmLines)
	if l.rev != b.RPMsRev || l.nvr != b.NVR() {
		c.remove(e)
		return nil, false
	}
	c.lru.MoveToFront(e)
	return l.files, true
}

// put records the build's files as read at its rpms_rev.
func (c *rpmLineCache) put(b db.TaggedBuild, files []repoFile) {
	l := &rpmLines{buildID: b.ID, rev: b.RPMsRev, nvr: b.NVR(), files: files, size: 64}
	for _, f := range files {
		l.size += 64 + len(f.name) + len(f.arch) + len(f.relpath) + len(f.json)
	}
	if l.size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[b.ID]; ok {
		c.remove(e)
	}
	c.entries[b.ID] = c.lru.PushFront(l)
	c.size += l.size
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *rpmLineCache) remove(e *list.Element) {
	l := c.lru.Remove(e).(*rpmLines)
	delete(c.entries, l.buildID)
	c.size -= l.size
}
