package hubcore

import (
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

func TestEditChannel(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		id := admin.must("addChannel", "build-x", kw{"description": "old"}).(int64)

		alice.fault(kojixml.ActionNotAllowed, "editChannel", "build-x", kw{"description": "d"})
		if v := admin.must("editChannel", "build-x", kw{"description": "old"}); v != false {
			t.Errorf("editChannel with no change = %v, want False", v)
		}
		if v := admin.must("editChannel", "build-x", kw{"name": "build-y", "description": "new", "comment": "c"}); v != true {
			t.Errorf("editChannel = %v, want True", v)
		}
		ch := admin.must("getChannel", id).(map[string]any)
		if ch["name"] != "build-y" || ch["description"] != "new" || ch["comment"] != "c" {
			t.Errorf("channel after editChannel = %v", ch)
		}
		if f := admin.fault(kojixml.GenericError, "editChannel", "build-y", kw{"name": "default"}); !strings.HasPrefix(f.String, "channel default already exists (id=") {
			t.Errorf("rename onto default = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "editChannel", "nosuch", kw{"comment": "c"}); f.String != "No such channel: nosuch" {
			t.Errorf("editChannel(nosuch) = %q", f.String)
		}
		admin.fault(kojixml.ParameterError, "editChannel", "build-y", kw{"description": nil})
		admin.fault(kojixml.ParameterError, "editChannel", "build-y", kw{"comment": int64(1)})
		admin.fault(kojixml.ParameterError, "editChannel", "build-y", kw{"comment": strings.Repeat("c", 70<<10)})
		admin.fault(kojixml.NameValidationError, "editChannel", "build-y", kw{"name": "a b"})
		admin.fault(kojixml.GenericError, "editChannel", "build-y", kw{"name": int64(3)})
		admin.fault(kojixml.ParameterError, "editChannel", []any{}, kw{"comment": "c"})
		admin.fault(kojixml.ParameterError, "editChannel")
		admin.must("renameChannel", "build-y", "build-z")
		if admin.must("getChannel", "build-z") == nil {
			t.Error("renameChannel did not rename")
		}
	})
}

func TestDisabledChannelHoldsItsTasks(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		th.addUser("hostadmin", "pw", "host")
		hostAdmin := th.login("hostadmin", "pw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")

		alice.fault(kojixml.ActionNotAllowed, "disableChannel", "default")
		if f := hostAdmin.fault(kojixml.GenericError, "disableChannel", "nosuch"); f.String != "No such channel: nosuch" {
			t.Errorf("disableChannel(nosuch) = %q", f.String)
		}
		hostAdmin.fault(kojixml.ParameterError, "disableChannel", "default", int64(5))
		hostAdmin.fault(kojixml.ParameterError, "disableChannel", []any{"default"})
		hostAdmin.must("disableChannel", "default", kw{"comment": "maintenance"})
		ch := admin.must("getChannel", "default").(map[string]any)
		if ch["enabled"] != false || ch["comment"] != "maintenance" {
			t.Errorf("channel after disableChannel = %v", ch)
		}
		if f := admin.fault(kojixml.GenericError, "makeTask", "newRepo", []any{"x"}); f.String != "Channel default is disabled." {
			t.Errorf("makeTask in a disabled channel = %q", f.String)
		}
		hostAdmin.must("enableChannel", "default")

		// a task made before its channel is disabled waits for it
		id := admin.must("makeTask", "newRepo", []any{"x"}, kw{"channel": "createrepo"}).(int64)
		th.waitReason(id, "no enabled host in channel createrepo")
		hostAdmin.must("disableChannel", "createrepo")
		admin.must("addHostToChannel", "builder1", "createrepo")
		admin.must("scheduler.doRun", kw{"force": true})
		th.waitReason(id, "channel createrepo is disabled")
		hostAdmin.must("enableChannel", "createrepo")
		th.waitState(id, db.TaskAssigned)
		ch = admin.must("getChannel", "default").(map[string]any)
		if ch["enabled"] != true || ch["comment"] != "maintenance" {
			t.Errorf("channel after enableChannel without comment = %v (the comment stays)", ch)
		}
	})
}

func TestRemoveChannel(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		_, hostID := th.addHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		admin.must("addChannel", "empty")
		admin.must("addChannel", "hosted")
		admin.must("addHostToChannel", "builder1", "hosted")

		alice.fault(kojixml.ActionNotAllowed, "removeChannel", "empty")
		admin.must("removeChannel", "empty")
		if admin.must("getChannel", "empty") != nil {
			t.Error("removeChannel(empty) left the channel")
		}
		if f := admin.fault(kojixml.GenericError, "removeChannel", "hosted"); f.String != "channel hosted has host references" {
			t.Errorf("removeChannel of a channel with hosts = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "removeChannel", "default"); f.String != "channel default has host references" {
			t.Errorf("removeChannel(default) = %q", f.String)
		}
		admin.must("removeChannel", "hosted", kw{"force": true})
		chans := admin.must("listChannels", kw{"hostID": hostID}).([]any)
		if len(chans) != 1 || chans[0].(map[string]any)["name"] != "default" {
			t.Errorf("host channels after forced remove = %v", chans)
		}
		admin.must("makeTask", "newRepo", []any{"x"}, kw{"channel": "createrepo"})
		if f := admin.fault(kojixml.GenericError, "removeChannel", "createrepo"); f.String != "channel createrepo has task references" {
			t.Errorf("removeChannel of a channel with tasks = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "removeChannel", "nosuch"); f.String != "No such entry in table channels: nosuch" {
			t.Errorf("removeChannel(nosuch) = %q", f.String)
		}
		admin.fault(kojixml.ParameterError, "removeChannel", 1.5)
	})
}
