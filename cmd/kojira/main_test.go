package main

import (
	"context"
	"strings"
	"testing"
)

func TestRunSubcommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no subcommand"},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"createrepo"}, "no package directory"},
		{[]string{"createrepo", "-d", "x"}, "package directory"},
		{[]string{"createrepo", "-d", "--no-database", "x"}, "exclude each other"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	if err := run(context.Background(), []string{"help"}); err != nil {
		t.Errorf("run(help) = %v", err)
	}
}
