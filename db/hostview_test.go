package db

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// reopen opens a second Store on s's database, as a second hub would.
func reopen(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	o, err := Open(context.Background(), s.dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func sameHosts(t *testing.T, s *Store, f HostFilter, when string) {
	t.Helper()
	ctx := context.Background()
	want, err := s.ListHosts(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListHostsCached(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		want = []Host{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s, filter %+v:\ncached %+v\ntables %+v", when, f, got, want)
	}
}

func TestHostViewFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ch, err := s.CreateChannel(ctx, Channel{Name: "viewtest"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for i, arches := range []string{"x86_64", "x86_64 i686", "aarch64", "ppc64le s390x", "x86_64_v2"} {
			id := newHost(t, s, fmt.Sprintf("b%d", i))
			ids = append(ids, id)
			if _, err := s.EditHost(ctx, id, HostEdit{Arches: &arches}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddHostToChannel(ctx, ids[2], ch); err != nil {
			t.Fatal(err)
		}
		off := false
		s.EditHost(ctx, ids[3], HostEdit{Enabled: &off})
		s.CheckIn(ctx, CheckIn{HostID: ids[1], TaskLoad: 1.5, Ready: true})
		yes, no := true, false
		b2, _ := s.GetHost(ctx, ids[2])
		def := int64(1)
		for _, f := range []HostFilter{
			{}, {Arches: []string{"x86_64"}}, {Arches: []string{"i686", "s390x"}}, {Arches: []string{"x86"}},
			{ChannelID: &ch}, {ChannelID: &def}, {Ready: &yes}, {Ready: &no}, {Enabled: &no},
			{UserID: &b2.UserID}, {Enabled: &yes, Arches: []string{"x86_64"}, ChannelID: &def},
		} {
			sameHosts(t, s, f, "after setup")
		}
	})
}

// The Store's own writes show at once; a transaction's only once it commits.
func TestHostViewOwnWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id := newHost(t, s, "b1")
		sameHosts(t, s, HostFilter{}, "new host")
		off := false
		s.EditHost(ctx, id, HostEdit{Enabled: &off})
		sameHosts(t, s, HostFilter{}, "after disable")
		sid, _ := s.CreateSession(ctx, Session{UserID: 1, KeyHash: "k", HostIP: "-", AuthType: AuthSSL})
		if err := s.CheckIn(ctx, CheckIn{HostID: id, TaskLoad: 2, Ready: true, SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		sameHosts(t, s, HostFilter{}, "after check-in")
		ch, _ := s.CreateChannel(ctx, Channel{Name: "c2"})
		s.AddHostToChannel(ctx, id, ch)
		sameHosts(t, s, HostFilter{ChannelID: &ch}, "after channel add")
		s.RemoveHostFromChannel(ctx, id, ch)
		sameHosts(t, s, HostFilter{ChannelID: &ch}, "after channel remove")

		s.WithTx(ctx, func(tx *Store) error {
			tx.SetHostReady(ctx, id, false)
			return fmt.Errorf("roll back")
		})
		sameHosts(t, s, HostFilter{}, "after rollback")
		err := s.WithTx(ctx, func(tx *Store) error {
			if err := tx.SetHostReady(ctx, id, false); err != nil {
				return err
			}
			if got, _ := s.ListHostsCached(ctx, HostFilter{}); !got[0].Ready {
				return fmt.Errorf("an uncommitted write showed in the view")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameHosts(t, s, HostFilter{}, "after commit")
	})
}

// Another process's writes show once the copy is older than its bound.
func TestHostViewOtherProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id := newHost(t, s, "b1")
		a := reopen(t, s, Options{HostViewMaxAge: 200 * time.Millisecond})
		if hs, _ := a.ListHostsCached(ctx, HostFilter{}); len(hs) != 1 || !hs[0].Enabled {
			t.Fatalf("first read: %+v", hs)
		}
		off := false
		if _, err := s.EditHost(ctx, id, HostEdit{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
		if hs, _ := a.ListHostsCached(ctx, HostFilter{}); len(hs) != 1 || hs[0].Enabled {
			t.Fatalf("another Store's write not seen after the bound: %+v", hs)
		}
	})
}

// Check-ins racing with reads of the tables: once they stop, the copy
// matches the tables (a check-in committed while the copy was read is not
// lost).
func TestHostViewCheckInsDuringReads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s = reopen(t, s, Options{HostViewMaxAge: time.Hour})
		expire := func() { // make the next read load, without a write
			s.view.mu.Lock()
			s.view.at = time.Time{}
			s.view.mu.Unlock()
		}
		var ids []int64
		for i := range 20 {
			ids = append(ids, newHost(t, s, fmt.Sprintf("b%d", i)))
		}
		sid, _ := s.CreateSession(ctx, Session{UserID: 1, KeyHash: "k", HostIP: "-", AuthType: AuthSSL})
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					expire()
					if _, err := s.ListHostsCached(ctx, HostFilter{}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var writers sync.WaitGroup
		for w, id := range ids {
			writers.Go(func() {
				for n := range 30 {
					if err := s.CheckIn(ctx, CheckIn{HostID: id, TaskLoad: float64(w*100 + n), Ready: n%2 == 0, SessionID: sid}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		readers.Wait()
		sameHosts(t, s, HostFilter{}, "after racing check-ins")
	})
}
