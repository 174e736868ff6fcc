package db

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// writeLog records what OnWrite announced.
type writeLog struct {
	mu  sync.Mutex
	got []Wrote
}

func (l *writeLog) add(w Wrote) {
	l.mu.Lock()
	l.got = append(l.got, w)
	l.mu.Unlock()
}

// take returns what was announced since the last take.
func (l *writeLog) take() []Wrote {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

// Every committed write to tasks or hosts is announced, a transaction's
// once at its commit; rolled back writes, other tables and bare check-ins
// are not.
func TestOnWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var log writeLog
		s.OnWrite(log.add)
		expect := func(what string, want ...Wrote) {
			t.Helper()
			if got := log.take(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: announced %v, want %v", what, got, want)
			}
		}
		id := newHost(t, s, "b1")
		expect("CreateHost (and its user)", WroteHosts)
		off := false
		s.EditHost(ctx, id, HostEdit{Enabled: &off})
		expect("EditHost", WroteHosts)
		ch, _ := s.CreateChannel(ctx, Channel{Name: "c2"})
		expect("CreateChannel")
		s.AddHostToChannel(ctx, id, ch)
		expect("AddHostToChannel", WroteHosts)
		s.RemoveHostFromChannel(ctx, id, ch)
		expect("RemoveHostFromChannel", WroteHosts)
		s.SetHostReady(ctx, id, false)
		expect("SetHostReady", WroteHosts)
		h, _ := s.GetHost(ctx, id)
		sid, _ := s.CreateSession(ctx, Session{UserID: h.UserID, KeyHash: "k", HostIP: "-", AuthType: AuthSSL})
		if err := s.CheckIn(ctx, CheckIn{HostID: id, TaskLoad: 1, Ready: true, SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		s.SetHostData(ctx, id, `{"cpus":8}`)
		expect("CheckIn and SetHostData (the caller judges those)")

		task, _, err := s.CreateTask(ctx, NewTask{Method: "newRepo", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
		if err != nil {
			t.Fatal(err)
		}
		expect("CreateTask", WroteTasks)
		s.SetTaskWeight(ctx, task, 2)
		expect("SetTaskWeight", WroteTasks)
		err = s.WithTx(ctx, func(tx *Store) error {
			tx.SetHostReady(ctx, id, true)
			tx.SetTaskWeight(ctx, task, 3)
			tx.SetTaskWeight(ctx, task, 4)
			if got := log.take(); len(got) != 0 {
				t.Errorf("announced before the commit: %v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := log.take(); !slices.Contains(got, WroteHosts) || !slices.Contains(got, WroteTasks) || len(got) != 2 {
			t.Errorf("a transaction writing hosts and tasks announced %v, want each once", got)
		}
		s.WithTx(ctx, func(tx *Store) error {
			tx.CreateTask(ctx, NewTask{Method: "newRepo", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
			tx.SetHostReady(ctx, id, false)
			return errors.New("roll back")
		})
		expect("a rolled back transaction")
		s.WithTx(ctx, func(tx *Store) error {
			_, _, err := tx.CreateTask(ctx, NewTask{Method: "newRepo", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
			return err
		})
		expect("a transaction that only inserts a task", WroteTasks)
	})
}

// ListHostsWithChannelsCached gives each host's channels from the copy,
// matching the tables, and copies the caller may change.
func TestListHostsWithChannelsCached(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, b := newHost(t, s, "a"), newHost(t, s, "b")
		ch, _ := s.CreateChannel(ctx, Channel{Name: "c2"})
		s.AddHostToChannel(ctx, a, ch)
		s.RemoveHostFromChannel(ctx, b, 1)
		for range 2 { // a fresh copy, then the copy
			hosts, chans, err := s.ListHostsWithChannelsCached(ctx, HostFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(hosts) != 2 || !reflect.DeepEqual(chans, map[int64][]int64{a: {1, ch}}) {
				t.Fatalf("hosts %+v, channels %v", hosts, chans)
			}
			chans[a][0] = 99
		}
		if err := s.WithTx(ctx, func(tx *Store) error {
			_, chans, err := tx.ListHostsWithChannelsCached(ctx, HostFilter{})
			if err == nil && !reflect.DeepEqual(chans, map[int64][]int64{a: {1, ch}}) {
				t.Errorf("in a transaction: channels %v", chans)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}
