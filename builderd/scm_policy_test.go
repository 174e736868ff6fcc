package builderd

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// policyHub answers evalPolicy with a fixed action and records the data.
type policyHub struct {
	action any
	err    error
	name   string
	data   map[string]any
}

func (h *policyHub) Call(_ context.Context, method string, args ...any) (any, error) {
	if method != "evalPolicy" || len(args) != 2 {
		return nil, errors.New("unexpected call " + method)
	}
	h.name, _ = args[0].(string)
	h.data, _ = args[1].(map[string]any)
	return h.action, h.err
}

// TestAssertSCMAllowed: allowed_scms_use_config and allowed_scms_use_policy
// as Koji's SCM.assert_allowed: the list, the hub's build_from_scm policy,
// both (list first), or neither.
func TestAssertSCMAllowed(t *testing.T) {
	src := "git+https://src.example.org/rpms/hello.git?sub#abc123"
	list := []string{"src.example.org:/rpms/*:no:make,srpm"}
	tests := []struct {
		name                 string
		allowed              []string
		useConfig, usePolicy bool
		action               any
		wantErr              string
		wantCommon           bool
		wantCmd              []string
		wantCall             bool
	}{
		{name: "config allows", allowed: list, useConfig: true, wantCmd: []string{"make", "srpm"}},
		{name: "config refuses", allowed: []string{"other.org:/*"}, useConfig: true, wantErr: "src.example.org:/rpms/hello.git is not in the list of allowed SCMs"},
		{name: "neither: anything goes"},
		{name: "policy allows", usePolicy: true, action: "allow", wantCall: true},
		{name: "policy allows with options", usePolicy: true, action: "allow use_common make sources", wantCall: true, wantCommon: true, wantCmd: []string{"make", "sources"}},
		{name: "policy source_cmd none", allowed: list, useConfig: true, usePolicy: true, action: "allow none", wantCall: true},
		{name: "policy keeps the list's command", allowed: list, useConfig: true, usePolicy: true, action: "yes", wantCall: true, wantCmd: []string{"make", "srpm"}},
		{name: "policy denies with reason", usePolicy: true, action: "deny not from there", wantCall: true, wantErr: "SCM: src.example.org:/rpms/hello.git is not allowed, reason: not from there"},
		{name: "policy no match", usePolicy: true, action: nil, wantCall: true, wantErr: "is not allowed, reason: None"},
		{name: "list refuses before the policy", allowed: []string{"other.org:/*"}, useConfig: true, usePolicy: true, action: "allow", wantErr: "not in the list"},
	}
	for _, tt := range tests {
		s, err := parseSCMURL(src)
		if err != nil {
			t.Fatal(err)
		}
		hub := &policyHub{action: tt.action}
		a, err := assertSCMAllowed(context.Background(), hub, s, tt.allowed, tt.useConfig, tt.usePolicy, map[string]any{"user_id": int64(7), "channel": "default", "scratch": true})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: assertSCMAllowed = %v, want error %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: assertSCMAllowed = %v", tt.name, err)
			continue
		}
		if tt.usePolicy && !tt.useConfig && a.useCommon != tt.wantCommon {
			t.Errorf("%s: use_common = %v, want %v", tt.name, a.useCommon, tt.wantCommon)
		}
		if !reflect.DeepEqual(a.sourceCmd, tt.wantCmd) {
			t.Errorf("%s: source_cmd = %q, want %q", tt.name, a.sourceCmd, tt.wantCmd)
		}
		if (hub.name != "") != tt.wantCall {
			t.Errorf("%s: policy called = %v, want %v", tt.name, hub.name != "", tt.wantCall)
		}
	}
	// the data Koji's assert_allowed_by_policy sends
	s, _ := parseSCMURL(src)
	hub := &policyHub{action: "allow"}
	if _, err := assertSCMAllowed(context.Background(), hub, s, nil, false, true, map[string]any{"user_id": int64(7), "channel": "default", "scratch": true}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"scm_url": src, "scm_scheme": "git+https://", "scm_user": nil, "scm_host": "src.example.org",
		"scm_repository": "/rpms/hello.git", "scm_module": "sub", "scm_revision": "abc123", "scm_type": "GIT",
		"user_id": int64(7), "channel": "default", "scratch": true}
	if hub.name != "build_from_scm" || !reflect.DeepEqual(hub.data, want) {
		t.Errorf("evalPolicy(%s, %v), want build_from_scm, %v", hub.name, hub.data, want)
	}
}
