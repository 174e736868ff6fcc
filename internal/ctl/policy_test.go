package ctl

import (
	"reflect"
	"testing"

	"kojigo/internal/kojixml"
)

func TestPolicyTest(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("kojigo.checkPolicy", map[string]any{
		"policy": "tag", "action": "deny only release-engineering may tag into f40", "result": "deny", "allowed": false,
		"reason": "only release-engineering may tag into f40", "rule": "tag f40 :: ... all :: deny only release-engineering may tag into f40",
		"where": "/etc/koji-hub/hub.conf:9", "default": false,
	})
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "policy", "test", "tag", "tag=f40", "build=hello-1.0-1", "user_id=alice", "operation=tag", "fromtag=None", "build_id=12", "scratch=true", "version=1.0", `btypes=["rpm"]`)
	want := "policy:  tag\n" +
		"action:  deny only release-engineering may tag into f40\n" +
		"verdict: denied\n" +
		"reason:  only release-engineering may tag into f40\n" +
		"rule:    tag f40 :: ... all :: deny only release-engineering may tag into f40\n" +
		"at:      /etc/koji-hub/hub.conf:9\n"
	if out != want {
		t.Errorf("policy test printed\n%s\nwant\n%s", out, want)
	}
	c := fh.called("kojigo.checkPolicy")[0]
	wantData := map[string]any{"tag": "f40", "build": "hello-1.0-1", "user_id": "alice", "operation": "tag", "fromtag": nil,
		"build_id": int64(12), "scratch": true, "version": "1.0", "btypes": []any{"rpm"}}
	if c.args[0] != "tag" || !reflect.DeepEqual(c.args[1], wantData) {
		t.Errorf("checkPolicy(%v, %v), want tag, %v", c.args[0], c.args[1], wantData)
	}
	// no match, Koji's default
	fh.answer("kojigo.checkPolicy", map[string]any{"action": nil, "allowed": false, "reason": "not covered by policy", "rule": "(no match)", "where": "", "default": true})
	out = te.mustRun(t, 0, "policy", "test", "channel", "method=build")
	if want := "policy:  channel\naction:  no rule matched\nverdict: denied (for an allow/deny policy: not covered by policy)\nrule:    (no match)\nat:      Koji's default policy\n"; out != want {
		t.Errorf("no match printed\n%s\nwant\n%s", out, want)
	}
	// channel's action is no verdict
	fh.answer("kojigo.checkPolicy", map[string]any{"action": "use noarch", "result": "use", "allowed": false, "reason": "noarch", "rule": "method buildArch :: use noarch", "where": "/etc/koji-hub/hub.conf:17", "default": false})
	out = te.mustRun(t, 0, "policy", "test", "channel", "method=buildArch")
	if want := "policy:  channel\naction:  use noarch\nrule:    method buildArch :: use noarch\nat:      /etc/koji-hub/hub.conf:17\n"; out != want {
		t.Errorf("channel printed\n%s\nwant\n%s", out, want)
	}
	te.mustRun(t, 2, "policy", "test")
	te.mustRun(t, 2, "policy", "test", "tag", "novalue")
	te.mustRun(t, 2, "policy", "frobnicate")
	fh.on("kojigo.checkPolicy", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1000, "no such policy: tga (policies: tag)")
	})
	te.mustRun(t, 1, "policy", "test", "tga")
	if te.stderr.String() != "kojictl policy: GenericError: no such policy: tga (policies: tag)\n" {
		t.Errorf("stderr %q", te.stderr.String())
	}
}

func TestPolicyShow(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("kojigo.listPolicies", []any{
		map[string]any{"name": "build_from_srpm", "text": "has_perm admin :: allow\nall :: deny Only admin can do this via default policy", "file": "(Koji's default policy)", "line": int64(1), "default": true},
		map[string]any{"name": "tag", "text": "has_perm admin :: allow\n\ntag f40 :: {\n    all :: deny\n}", "file": "/etc/koji-hub/hub.conf", "line": int64(5), "default": false},
	})
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "policy", "show")
	want := "[policy]\n" +
		"# Koji's default policy (not set in hub.conf)\n" +
		"build_from_srpm =\n    has_perm admin :: allow\n    all :: deny Only admin can do this via default policy\n" +
		"# /etc/koji-hub/hub.conf:5\n" +
		"tag =\n    has_perm admin :: allow\n    tag f40 :: {\n        all :: deny\n    }\n"
	if out != want {
		t.Errorf("policy show printed\n%s\nwant\n%s", out, want)
	}
	if out := te.mustRun(t, 0, "policy", "show", "tag"); out != "[policy]\n# /etc/koji-hub/hub.conf:5\ntag =\n    has_perm admin :: allow\n    tag f40 :: {\n        all :: deny\n    }\n" {
		t.Errorf("policy show tag printed\n%s", out)
	}
	te.mustRun(t, 1, "policy", "show", "nosuch")
}
