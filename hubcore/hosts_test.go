package hubcore

import (
	"reflect"
	"slices"
	"testing"
)

// kojigo.listHostHealth gives each host's channel names, sorted, beside the
// fields it always had.
func TestListHostHealthChannels(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.readyHost("b1")
		th.addHost("b2")
		admin := th.login(th.ensureAdmin(), "adminpw")
		hc.must("host.updateHost", 0.5, true, map[string]any{"cpus": int64(8)})
		for _, ch := range []string{"zeta", "alpha"} {
			admin.must("addChannel", ch)
			admin.must("addHostToChannel", "b1", ch)
		}
		admin.must("removeHostFromChannel", "b2", "default")
		want := map[string][]any{"b1": {"alpha", "default", "zeta"}, "b2": {}}
		fields := []string{"capacity", "channels", "data", "data_ts", "enabled", "host_id", "name", "ready", "task_load", "update_ts"}
		check := func(when string) {
			t.Helper()
			list := th.anon().must("kojigo.listHostHealth").([]any)
			if len(list) != 2 {
				t.Fatalf("%s: listHostHealth = %v", when, list)
			}
			for _, x := range list {
				m := x.(map[string]any)
				var keys []string
				for k := range m {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if !reflect.DeepEqual(keys, fields) {
					t.Errorf("%s: listHostHealth fields = %v, want %v", when, keys, fields)
				}
				name := m["name"].(string)
				if got := m["channels"]; !reflect.DeepEqual(got, want[name]) {
					t.Errorf("%s: listHostHealth[%s][channels] = %#v, want %#v", when, name, got, want[name])
				}
			}
		}
		check("after the channel changes")
		check("from the hub's copy")
		admin.must("addHostToChannel", "b2", "alpha")
		want["b2"] = []any{"alpha"}
		check("after b2 joined alpha")
	})
}
