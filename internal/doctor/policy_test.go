package doctor_test

import (
	"path/filepath"
	"testing"

	"kojigo/internal/doctor"
)

// TestHubPolicies: doctor parses hub.conf's [policy] section as kojihub
// does, naming file and line of a rule it cannot use.
func TestHubPolicies(t *testing.T) {
	dir := t.TempDir()
	base := "[hub]\nDB = sqlite://" + dir + "/koji.db\nKojiDir = " + dir + "/koji\n"
	conf := writeFile(t, filepath.Join(dir, "a", "hub.conf"), base)
	rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
	if !hasMessage(rep, doctor.OK, conf, "no [policy] section", "Koji's default policies") {
		t.Errorf("no policies:%s", dump(rep))
	}
	conf = writeFile(t, filepath.Join(dir, "b", "hub.conf"), base+"\n[policy]\ntag =\n    has_perm admin :: allow\n    all :: deny\nchannel = all :: use default\n")
	rep = runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
	if !hasMessage(rep, doctor.OK, conf, "[policy] parses: tag, channel set") {
		t.Errorf("good policies:%s", dump(rep))
	}
	conf = writeFile(t, filepath.Join(dir, "c", "hub.conf"), base+"\n[policy]\ntag =\n    has_perm admin :: allow\n    tagg f40 :: deny\n    all allow\n")
	rep = runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
	if !hasMessage(rep, doctor.Error, conf+":8", "policy tag: missing test handler: tagg", `"tagg f40 :: deny"`, "will not start") ||
		!hasMessage(rep, doctor.Error, conf+":9", "bad policy line", `"all allow"`) {
		t.Errorf("bad policies:%s", dump(rep))
	}
}
