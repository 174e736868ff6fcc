package main

import (
	"io"
	"strings"
	"testing"
)

// TestBadPolicyStopsTheHub: kojihub refuses to start on a [policy] it
// cannot parse, naming file, line and rule; a good one reaches the hub.
func TestBadPolicyStopsTheHub(t *testing.T) {
	path := writeHubConf(t, "[hub]\nDB = sqlite:///srv/koji.db\n\n[policy]\ntag =\n    has_perm admin :: allow\n    tag f40 && :: deny\n")
	_, err := loadConfig([]string{"--config", path}, func() []string { return nil }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), path+`:7: policy tag: empty test`) || !strings.Contains(err.Error(), `"tag f40 && :: deny"`) {
		t.Errorf("loadConfig with a bad policy = %v", err)
	}
	path = writeHubConf(t, "[hub]\nDB = sqlite:///srv/koji.db\n\n[policy]\ntag =\n    has_perm admin :: allow\n    all :: deny\n")
	cfg, err := loadConfig([]string{"--config", path}, func() []string { return nil }, io.Discard)
	if err != nil || len(cfg.Policies) != 1 || cfg.Policies[0].Name != "tag" || cfg.Policies[0].Lines[2] != 7 {
		t.Errorf("loadConfig = %+v, %v", cfg, err)
	}
}
