package hubcore

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// notifyTasks returns the requests of the tasks of a method, by id, with
// each task's owner.
func notifyTasks(t *testing.T, th *testHub, method string) (reqs [][]any, owners []int64) {
	t.Helper()
	l := th.anon().must("listTasks", map[string]any{"method": method}, map[string]any{"order": "id"}).([]any)
	for _, x := range l {
		m := x.(map[string]any)
		reqs = append(reqs, th.anon().must("getTaskRequest", m["id"]).([]any))
		owners = append(owners, m["owner"].(int64))
	}
	return reqs, owners
}

// notifyBuild runs a build task of target dest-candidate for owner up to
// host.initBuild and returns the task and build ids.
func notifyBuild(t *testing.T, th *testHub, hostID, owner int64, hc *client, nvr [3]string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	def, err := th.store.GetChannelByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	kojixml.EncodeCall(&req, "build", []any{"cli-build/x/" + nvr[0] + "-" + nvr[1] + "-" + nvr[2] + ".src.rpm", "dest-candidate", map[string]any{}})
	id, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "build", Request: req.String(), Arch: "noarch", ChannelID: def.ID, Owner: owner, Priority: 20, AssignTo: &hostID})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := th.store.OpenTask(ctx, id, hostID); err != nil || !ok {
		t.Fatalf("open task %d: %v, %v", id, ok, err)
	}
	b := hc.must("host.initBuild", map[string]any{"name": nvr[0], "version": nvr[1], "release": nvr[2], "epoch": nil, "task_id": id}).(int64)
	return id, b
}

// completeNotifyBuild imports a minimal build for the task.
func completeNotifyBuild(t *testing.T, th *testHub, hc *client, taskID, buildID int64, nvr [3]string) {
	t.Helper()
	dir := fmt.Sprintf("tasks/%d/%d", taskID%10000, taskID)
	srpm := nvr[0] + "-" + nvr[1] + "-" + nvr[2] + ".src.rpm"
	writeRPM(t, th.hub.cfg.TopDir, dir+"/"+srpm, nvr[0], nvr[1], nvr[2], "x86_64", "", true)
	writeRPM(t, th.hub.cfg.TopDir, dir+"/"+nvr[0]+"-"+nvr[1]+"-"+nvr[2]+".x86_64.rpm", nvr[0], nvr[1], nvr[2], "x86_64", srpm, false)
	hc.must("host.completeBuild", taskID, buildID, dir+"/"+srpm, []any{dir + "/" + nvr[0] + "-" + nvr[1] + "-" + nvr[2] + ".x86_64.rpm"})
}

func strs(l any) []string {
	var out []string
	for _, x := range l.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestBuildAndTagNotifications(t *testing.T) {
	forBackendsWith(t, func(c *Config) {
		c.Notify.EmailDomain = "example.com"
		c.Notify.WebURL = "https://koji.example.com/koji"
	}, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		for _, u := range []string{"bob", "carol", "dave", "erin", "paul", "gina"} {
			th.addUser(u, "pw")
		}
		setupTarget(t, admin)
		admin.must("packageListAdd", "dest", "hello", "paul")
		admin.must("packageListAdd", "dest", "other", "gina")
		// bob: hello anywhere; carol: anything into dest, successes only;
		// dave: everything but blocks hello; erin: everything, but disabled;
		// gina owns "other", not hello.
		th.login("bob", "pw").must("createNotification", nil, "hello", nil, false)
		th.login("carol", "pw").must("createNotification", nil, nil, "dest", true)
		dave := th.login("dave", "pw")
		dave.must("createNotification", nil, nil, nil, false)
		dave.must("createNotificationBlock", nil, "hello", nil)
		th.login("erin", "pw").must("createNotification", nil, nil, nil, false)
		admin.must("disableUser", "erin")
		if n := th.login("bob", "pw").must("getBuildNotifications").([]any); len(n) != 1 || n[0].(map[string]any)["email"] != "bob@example.com" {
			t.Errorf("bob's notifications = %v, want the address at EmailDomain", n)
		}

		hc, hostID := th.addHost("builder1")
		hc.must("host.updateHost", 0.0, true)
		hello := [3]string{"hello", "1.0", "1"}
		taskID, buildID := notifyBuild(t, th, hostID, aliceID, hc, hello)
		if reqs, _ := notifyTasks(t, th, "buildNotification"); len(reqs) != 0 {
			t.Fatalf("a notification before the build ended: %v", reqs)
		}
		completeNotifyBuild(t, th, hc, taskID, buildID, hello)
		reqs, owners := notifyTasks(t, th, "buildNotification")
		if len(reqs) != 1 || len(reqs[0]) != 4 {
			t.Fatalf("buildNotification tasks = %v", reqs)
		}
		want := []string{"alice@example.com", "bob@example.com", "carol@example.com", "paul@example.com"}
		if got := strs(reqs[0][0]); !reflect.DeepEqual(got, want) {
			t.Errorf("recipients of a complete build = %v, want %v", got, want)
		}
		b, tgt := reqs[0][1].(map[string]any), reqs[0][2].(map[string]any)
		if b["id"] != buildID || b["state"] != int64(db.BuildComplete) || b["nvr"] != "hello-1.0-1" || b["owner_name"] != "alice" {
			t.Errorf("build of the notification = %v", b)
		}
		if tgt["name"] != "dest-candidate" || tgt["dest_tag_name"] != "dest" || reqs[0][3] != "https://koji.example.com/koji" {
			t.Errorf("target, weburl = %v, %v", tgt, reqs[0][3])
		}
		host, _ := th.store.GetUserByName(context.Background(), "builder1")
		if owners[0] != host.ID {
			t.Errorf("notification owner = %d, want the host's user %d (Koji: the caller)", owners[0], host.ID)
		}

		// a failed build: not carol (successes only)
		h2 := [3]string{"hello", "1.1", "1"}
		taskID, buildID = notifyBuild(t, th, hostID, aliceID, hc, h2)
		hc.must("host.failBuild", taskID, buildID)
		reqs, _ = notifyTasks(t, th, "buildNotification")
		if len(reqs) != 2 {
			t.Fatalf("buildNotification tasks = %d, want 2", len(reqs))
		}
		if got, want := strs(reqs[1][0]), []string{"alice@example.com", "bob@example.com", "paul@example.com"}; !reflect.DeepEqual(got, want) {
			t.Errorf("recipients of a failed build = %v, want %v", got, want)
		}
		if reqs[1][1].(map[string]any)["state"] != int64(db.BuildFailed) {
			t.Errorf("failed build's state = %v", reqs[1][1])
		}

		// canceled by the owner: the task is the canceler's
		h3 := [3]string{"hello", "1.2", "1"}
		_, buildID = notifyBuild(t, th, hostID, aliceID, hc, h3)
		alice := th.login("alice", "pw")
		if v := alice.must("cancelBuild", buildID); v != true {
			t.Fatalf("cancelBuild = %v", v)
		}
		reqs, owners = notifyTasks(t, th, "buildNotification")
		if len(reqs) != 3 || owners[2] != aliceID || reqs[2][1].(map[string]any)["state"] != int64(db.BuildCanceled) {
			t.Errorf("cancel notification = %v owned by %v", reqs, owners)
		}

		// tagging: the tagBuild task's kojid reports through host.tagNotification
		userArg := any(aliceID)
		hc.must("host.tagNotification", true, "dest", nil, "hello-1.0-1", userArg)
		hc.must("host.tagNotification", false, "dest", nil, "hello-1.0-1", "alice", false, "<class 'koji.TagError'>: build hello-1.0-1 already tagged (dest)")
		hc.must("host.tagNotification", true, "dest", nil, "hello-1.0-1", userArg, true) // ignore_success: nothing
		hc.must("host.tagNotification", true, "dest", nil, "no-such-1-1", userArg)       // no build: nothing
		alice.fault(kojixml.AuthError, "host.tagNotification", true, "dest", nil, "hello-1.0-1", userArg)
		hc.fault(kojixml.GenericError, "host.tagNotification", true, "nosuchtag", nil, "hello-1.0-1", userArg)
		hc.fault(kojixml.ParameterError, "host.tagNotification", true, "dest", nil, "hello-1.0-1", userArg, false, int64(5))
		hc.fault(kojixml.ParameterError, "host.tagNotification", true, "dest")
		tr, _ := notifyTasks(t, th, "tagNotification")
		if len(tr) != 2 {
			t.Fatalf("tagNotification tasks = %v, want 2", tr)
		}
		destID := th.anon().must("getTagID", "dest").(int64)
		if got := strs(tr[0][0]); !reflect.DeepEqual(got, want) {
			t.Errorf("tag recipients = %v, want %v", got, want)
		}
		helloID := th.anon().must("getBuild", "hello-1.0-1").(map[string]any)["id"]
		if tr[0][1] != true || tr[0][4] != helloID || tr[0][2] != destID || tr[0][3] != nil || tr[0][5] != aliceID || tr[0][6] != false || tr[0][7] != "" {
			t.Errorf("tagNotification request = %v", tr[0])
		}
		if tr[1][1] != false || tr[1][5] != aliceID || tr[1][7] != "<class 'koji.TagError'>: build hello-1.0-1 already tagged (dest)" {
			t.Errorf("failed tagNotification request = %v", tr[1])
		}
		if got := strs(tr[1][0]); !reflect.DeepEqual(got, []string{"alice@example.com", "bob@example.com", "paul@example.com"}) {
			t.Errorf("failed tag recipients = %v", got)
		}

		// tagBuildBypass notifies only with notify; untagBuild always
		admin.must("tagBuildBypass", "dest", "hello-1.0-1")
		if tr, _ = notifyTasks(t, th, "tagNotification"); len(tr) != 2 {
			t.Errorf("tagBuildBypass without notify made a task")
		}
		admin.must("untagBuild", "dest", "hello-1.0-1")
		tr, owners = notifyTasks(t, th, "tagNotification")
		adminUser, _ := th.store.GetUserByName(context.Background(), "kojiadmin")
		if len(tr) != 3 || tr[2][2] != nil || tr[2][3] != destID || tr[2][5] != adminUser.ID || owners[2] != adminUser.ID {
			t.Errorf("untag notification = %v", tr)
		}
		admin.must("tagBuildBypass", "dest", "hello-1.0-1", false, true)
		admin.must("untagBuildBypass", "dest", "hello-1.0-1", kw{"notify": true})
		if tr, _ = notifyTasks(t, th, "tagNotification"); len(tr) != 5 || tr[3][2] != destID || tr[4][3] != destID {
			t.Errorf("bypass notifications = %v", tr)
		}

		// bob blocks hello in dest: no more mail from dest about hello
		th.login("bob", "pw").must("createNotificationBlock", nil, "hello", "dest")
		hc.must("host.tagNotification", true, "dest", nil, "hello-1.0-1", userArg)
		tr, _ = notifyTasks(t, th, "tagNotification")
		if got := strs(tr[len(tr)-1][0]); !reflect.DeepEqual(got, []string{"alice@example.com", "carol@example.com", "paul@example.com"}) {
			t.Errorf("recipients after bob's block = %v", got)
		}
	})
}

func TestNotificationSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   NotifyConfig
		tasks int
		want  []string
	}{
		{"defaults", NotifyConfig{}, 1, []string{"alice@None", "paul@None"}},
		{"NotifyOnSuccess off", NotifyConfig{NoMailOnSuccess: true}, 0, nil},
		{"DisableNotifications", NotifyConfig{Disabled: true}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forBackendsWith(t, func(c *Config) { c.Notify = tc.cfg }, func(t *testing.T, th *testHub) {
				admin := th.login(th.ensureAdmin(), "adminpw")
				aliceID := th.addUser("alice", "pw")
				th.addUser("paul", "pw")
				setupTarget(t, admin)
				admin.must("packageListAdd", "dest", "hello", "paul")
				hc, hostID := th.addHost("builder1")
				hc.must("host.updateHost", 0.0, true)
				hello := [3]string{"hello", "1.0", "1"}
				taskID, buildID := notifyBuild(t, th, hostID, aliceID, hc, hello)
				completeNotifyBuild(t, th, hc, taskID, buildID, hello)
				reqs, _ := notifyTasks(t, th, "buildNotification")
				if len(reqs) != tc.tasks {
					t.Fatalf("buildNotification tasks = %v, want %d", reqs, tc.tasks)
				}
				if tc.tasks > 0 {
					if got := strs(reqs[0][0]); !reflect.DeepEqual(got, tc.want) {
						t.Errorf("recipients = %v, want %v", got, tc.want)
					}
				}
				// a failure always tells the owner, unless disabled
				h2 := [3]string{"hello", "2", "1"}
				taskID, buildID = notifyBuild(t, th, hostID, aliceID, hc, h2)
				hc.must("host.failBuild", taskID, buildID)
				reqs, _ = notifyTasks(t, th, "buildNotification")
				if tc.cfg.Disabled != (len(reqs) == tc.tasks) {
					t.Errorf("after a failure: %d tasks", len(reqs))
				}
			})
		})
	}
}
