package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
)

// TestTwoHubsFiftyHostsFiveThousandTasks: two kojihub processes on one
// PostgreSQL, 50 simulated builders spread over them, 5,000 tasks. Every task
// is opened exactly once and none is lost, except that the tasks of a
// builder that dies midway are freed by the hub and finished by the others.
func TestTwoHubsFiftyHostsFiveThousandTasks(t *testing.T) {
	const nHosts, nTasks = 50, 5000
	f := newFarm(t, "postgres")
	// Short timeouts so that the dead builder's tasks come back quickly.
	env := []string{"KOJI_HUB_HOSTTIMEOUT=4", "KOJI_HUB_READYTIMEOUT=3", "KOJI_HUB_RUNINTERVAL=1", "KOJI_HUB_LOGLEVEL=warn"}
	urlA, _ := f.hub(env...)
	urlB, _ := f.hub(env...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	admin := client(t, urlA, "kojiadmin", "adminpw")
	for i := range nHosts {
		name := fmt.Sprintf("sim%02d", i)
		if _, err := admin.Call(ctx, "addHost", name, []any{"x86_64"}); err != nil {
			t.Fatal(err)
		}
		u, _ := f.store.GetUserByName(ctx, name)
		setPassword(t, f, u.ID, "simpw")
	}

	var opens sync.Map // task id -> *atomic.Int32
	var closed atomic.Int64
	count := func(id int64) {
		v, _ := opens.LoadOrStore(id, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
	}
	const victim = 7
	victimOpened := make(chan []int64, 1)
	var wg sync.WaitGroup
	hostCtx, stopHosts := context.WithCancel(ctx)
	defer stopHosts()
	for i := range nHosts {
		url := urlA
		if i%2 == 1 {
			url = urlB
		}
		c := client(t, url, fmt.Sprintf("sim%02d", i), "simpw")
		if err := c.ExclusiveSession(ctx, true); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int64
			closedHere := 0
			for hostCtx.Err() == nil {
				if err := c.UpdateHost(hostCtx, 0, true, map[string]any{"maxjobs": int64(4)}); err != nil {
					if hostCtx.Err() == nil {
						t.Errorf("builder %d: updateHost: %v", i, err)
					}
					return
				}
				res, err := c.Call(hostCtx, "kojigo.waitTasks", kojiclient.Kw{"timeout": int64(1)})
				if err != nil {
					if hostCtx.Err() == nil {
						t.Errorf("builder %d: waitTasks: %v", i, err)
					}
					return
				}
				for _, x := range asList(res) {
					id := asInt(asMap(x)["id"])
					info, err := c.OpenTask(hostCtx, id)
					if err != nil || info == nil {
						continue
					}
					count(id)
					if i == victim && closedHere >= 10 {
						// midway, the victim dies holding the task it just
						// opened: it never closes it and stops checking in
						mine = append(mine, id)
						victimOpened <- mine
						return
					}
					if err := c.CloseTask(hostCtx, id, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value></param>\n</params>\n</methodResponse>\n"); err != nil {
						// The last close can commit on the hub, end the wait
						// below and have its answer cut off by stopHosts.
						if hostCtx.Err() == nil {
							t.Errorf("close %d: %v", id, err)
						}
						return
					}
					closed.Add(1)
					closedHere++
				}
			}
		}()
	}

	// 5,000 tasks in batches of 500, half through each hub.
	start := time.Now()
	for b := 0; b < nTasks/500; b++ {
		c := admin
		if b%2 == 1 {
			c = client(t, urlB, "kojiadmin", "adminpw")
		}
		var calls []kojiclient.CallSpec
		for range 500 {
			calls = append(calls, kojiclient.CallSpec{Method: "makeTask", Args: []any{"noop", []any{}, kojiclient.Kw{"arch": "noarch"}}})
		}
		res, err := c.MultiCall(ctx, calls)
		if err != nil {
			t.Fatal(err)
		}
		if err := kojiclient.FirstFault(res); err != nil {
			t.Fatal(err)
		}
	}
	var dead []int64
	select {
	case dead = <-victimOpened:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the victim builder never died midway; %d tasks closed", closed.Load())
	}
	waitFor(t, 4*time.Minute, "every task to close", func() bool {
		n, err := f.store.CountTasks(ctx, db.TaskFilter{States: []int{db.TaskClosed}})
		return err == nil && n == nTasks
	})
	elapsed := time.Since(start)
	stopHosts()
	wg.Wait()

	n, _ := f.store.CountTasks(ctx, db.TaskFilter{})
	if n != nTasks {
		t.Fatalf("%d tasks in the database, want %d", n, nTasks)
	}
	deadSet := map[int64]bool{}
	for _, id := range dead {
		deadSet[id] = true
	}
	var total int
	opens.Range(func(k, v any) bool {
		id, c := k.(int64), int(v.(*atomic.Int32).Load())
		total++
		want := 1
		if deadSet[id] {
			want = 2 // the victim's open, then the one that finished it
		}
		if c != want {
			t.Errorf("task %d opened %d times, want %d", id, c, want)
		}
		return true
	})
	if total != nTasks {
		t.Errorf("%d tasks were opened, want %d", total, nTasks)
	}
	for _, id := range dead {
		task, _ := f.store.GetTask(ctx, id)
		if task.State != db.TaskClosed || task.Retries != 1 {
			t.Errorf("dead builder's task %d: state %s, retries %d; want CLOSED after 1 retry", id, db.TaskStateName(task.State), task.Retries)
		}
	}
	t.Logf("%d tasks, 2 hubs, %d builders (1 killed holding %d task): all closed in %v (%.0f tasks/s)",
		nTasks, nHosts, len(dead), elapsed.Round(time.Millisecond), float64(nTasks)/elapsed.Seconds())
}

func setPassword(t testing.TB, f *farm, userID int64, pw string) {
	t.Helper()
	hash, err := hashPW(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetPassword(context.Background(), userID, hash); err != nil {
		t.Fatal(err)
	}
}
