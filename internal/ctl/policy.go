package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// runPolicy is "kojictl policy show [NAME...]" and "kojictl policy test
// NAME key=value...": the hub's policies, and what one decides for some
// data, through kojigo.listPolicies and kojigo.checkPolicy (nothing is done).
func runPolicy(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "policy")
	var o clientOpts
	addClientFlags(fs, &o, true)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("policy show [NAME...] | policy test NAME key=value...")
	}
	switch pos[0] {
	case "show":
		return policyShow(ctx, env, &o, pos[1:])
	case "test":
		if len(pos) < 2 {
			return usageErr("Please specify a policy: policy test NAME key=value...")
		}
		data, err := policyData(pos[2:])
		if err != nil {
			return err
		}
		return policyTest(ctx, env, &o, pos[1], data)
	}
	return usageErr("policy: unknown subcommand %q: want show or test", pos[0])
}

func policyShow(ctx context.Context, env *Env, o *clientOpts, names []string) error {
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	v, err := s.call(ctx, "kojigo.listPolicies")
	if err != nil {
		return err
	}
	byName := map[string]map[string]any{}
	for _, p := range asMaps(v) {
		byName[mstr(p, "name")] = p
	}
	if len(names) == 0 {
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	// In hub.conf's syntax, so that a default can be copied and changed.
	fmt.Fprintln(env.Stdout, "[policy]")
	for _, n := range names {
		p, ok := byName[n]
		if !ok {
			return fmt.Errorf("no such policy: %s", clean(n))
		}
		if mbool(p, "default") {
			fmt.Fprintf(env.Stdout, "# Koji's default policy (not set in hub.conf)\n")
		} else {
			line, _ := mint(p, "line")
			fmt.Fprintf(env.Stdout, "# %s:%d\n", clean(mstr(p, "file")), line)
		}
		fmt.Fprintf(env.Stdout, "%s =\n", clean(n))
		// hub.conf's indentation is not kept: indent by block depth.
		depth := 1
		for _, l := range cleanLines(mstr(p, "text")) {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if l == "}" && depth > 1 {
				depth--
			}
			fmt.Fprintf(env.Stdout, "%s%s\n", strings.Repeat("    ", depth), l)
			if strings.HasSuffix(l, "{") {
				depth++
			}
		}
	}
	return nil
}

func policyTest(ctx context.Context, env *Env, o *clientOpts, name string, data map[string]any) error {
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	v, err := s.call(ctx, "kojigo.checkPolicy", name, data)
	if err != nil {
		return err
	}
	r := asMap(v)
	action := "no rule matched"
	if r["action"] != nil {
		action = mstr(r, "action")
	}
	fmt.Fprintf(env.Stdout, "policy:  %s\n", clean(name))
	fmt.Fprintf(env.Stdout, "action:  %s\n", clean(action))
	// allowed and reason mean something for allow/deny policies only
	// (not for channel's "use NAME" or priority's "stay").
	switch result := mstr(r, "result"); {
	case r["action"] == nil:
		fmt.Fprintf(env.Stdout, "verdict: denied (for an allow/deny policy: %s)\n", clean(mstr(r, "reason")))
	case result == "allow" || result == "deny":
		verdict := "denied"
		if mbool(r, "allowed") {
			verdict = "allowed"
		}
		fmt.Fprintf(env.Stdout, "verdict: %s\n", verdict)
		if reason := mstr(r, "reason"); reason != "" {
			fmt.Fprintf(env.Stdout, "reason:  %s\n", clean(reason))
		}
	}
	fmt.Fprintf(env.Stdout, "rule:    %s\n", clean(mstr(r, "rule")))
	where := mstr(r, "where")
	if mbool(r, "default") {
		where = "Koji's default policy"
	}
	if where != "" {
		fmt.Fprintf(env.Stdout, "at:      %s\n", clean(where))
	}
	return nil
}

var intRE = regexp.MustCompile(`^-?[0-9]+$`)

// policyData reads key=value arguments: integers (ids) as integers,
// true/false and None/null as such, [..] and {..} as JSON; anything else,
// versions such as 1.0 included, is a string.
func policyData(args []string) (map[string]any, error) {
	data := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usageErr("%q: want key=value", a)
		}
		switch {
		case intRE.MatchString(v):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, usageErr("%s: %v", k, err)
			}
			data[k] = n
		case v == "true" || v == "True":
			data[k] = true
		case v == "false" || v == "False":
			data[k] = false
		case v == "None" || v == "null":
			data[k] = nil
		case strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{"):
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return nil, usageErr("%s: not JSON: %v", k, err)
			}
			data[k] = jsonToXMLRPC(x)
		default:
			data[k] = v
		}
	}
	return data, nil
}

// jsonToXMLRPC turns JSON's float64 integers into int64.
func jsonToXMLRPC(x any) any {
	switch v := x.(type) {
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	case []any:
		for i := range v {
			v[i] = jsonToXMLRPC(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = jsonToXMLRPC(v[k])
		}
	}
	return x
}
