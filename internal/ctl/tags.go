package ctl

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kojigo/internal/kojiclient"
)

// requirePerm is koji's "hasPerm('admin') or hasPerm(perm)" check.
func (s *hubSession) requirePerm(ctx context.Context, perm string) error {
	for _, p := range []string{"admin", perm} {
		v, err := s.call(ctx, "hasPerm", p)
		if err != nil {
			return err
		}
		if v == true {
			return nil
		}
	}
	return usageErr("This action requires %s or admin privileges", perm)
}

// runAddTag is koji add-tag.
func runAddTag(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "add-tag")
	var o clientOpts
	addClientFlags(fs, &o, true)
	parent := fs.String("parent", "", "inherit from this `TAG`")
	arches := fs.String("arches", "", "`ARCHES` to build for (comma or space separated), e.g. \"x86_64 aarch64\"")
	var extra multiFlag
	fs.Var(&extra, "x", "set a tag extra option `key=value` (repeatable)")
	fs.Var(&extra, "extra", "set a tag extra option `key=value` (repeatable)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("Please specify a name for the tag")
	}
	if err := checkNames("tag", pos[0]); err != nil {
		return err
	}
	kw := kojiclient.Kw{}
	if *parent != "" {
		if err := checkNames("parent tag", *parent); err != nil {
			return err
		}
		kw["parent"] = *parent
	}
	if *arches != "" {
		a, err := parseArches(*arches)
		if err != nil {
			return err
		}
		kw["arches"] = a
	}
	if len(extra) > 0 {
		x := map[string]any{}
		for _, e := range extra {
			k, v, ok := strings.Cut(e, "=")
			if !ok || !safeName(k) {
				return usageErr("bad --extra %q: want key=value", clean(e))
			}
			x[k] = argFilter(v)
		}
		kw["extra"] = x
	}
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	if err := s.requirePerm(ctx, "tag"); err != nil {
		return err
	}
	callArgs := []any{pos[0]}
	if len(kw) > 0 {
		callArgs = append(callArgs, kw)
	}
	_, err = s.call(ctx, "createTag", callArgs...)
	return err
}

// argFilter is koji's arg_filter: numbers, True, False and None become
// values; anything else stays a string.
func argFilter(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "nN") {
		return f
	}
	switch s {
	case "True":
		return true
	case "False":
		return false
	case "None":
		return nil
	}
	return s
}

// runAddTarget is koji add-target NAME BUILD_TAG [DEST_TAG].
func runAddTarget(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "add-target")
	var o clientOpts
	addClientFlags(fs, &o, true)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageErr("Please specify a target name, a build tag, and destination tag")
	}
	if len(pos) > 3 {
		return usageErr("Incorrect number of arguments")
	}
	name, buildTag, destTag := pos[0], pos[1], pos[0]
	if len(pos) > 2 {
		destTag = pos[2]
	}
	if err := checkNames("tag or target", name, buildTag, destTag); err != nil {
		return err
	}
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	if err := s.requirePerm(ctx, "target"); err != nil {
		return err
	}
	bt, err := s.call(ctx, "getTag", buildTag)
	if err != nil {
		return err
	}
	dt, err := s.call(ctx, "getTag", destTag)
	if err != nil {
		return err
	}
	switch {
	case asMap(bt) == nil:
		fmt.Fprintf(env.Stderr, "No such tag: %s\n", clean(buildTag))
		return exitError{1}
	case mstr(asMap(bt), "arches") == "":
		fmt.Fprintf(env.Stderr, "Build tag has no arches: %s\n", clean(buildTag))
		return exitError{1}
	case asMap(dt) == nil:
		fmt.Fprintf(env.Stderr, "No such destination tag: %s\n", clean(destTag))
		return exitError{1}
	}
	_, err = s.call(ctx, "createBuildTarget", name, buildTag, destTag)
	return err
}

// runAddPkg is koji add-pkg TAG PKG... --owner USER.
func runAddPkg(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "add-pkg")
	var o clientOpts
	addClientFlags(fs, &o, true)
	owner := fs.String("owner", "", "`USER` who owns the packages in this tag (required)")
	force := fs.Bool("force", false, "override blocks if necessary")
	extraArches := fs.String("extra-arches", "", "extra `ARCHES` for these packages")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageErr("Please specify a tag and at least one package")
	}
	if *owner == "" {
		return usageErr("Please specify an owner for the package(s)")
	}
	if err := checkNames("tag", pos[0]); err != nil {
		return err
	}
	if err := checkNames("package", pos[1:]...); err != nil {
		return err
	}
	if err := checkNames("user", *owner); err != nil {
		return err
	}
	opts := kojiclient.Kw{"force": *force, "block": false}
	if *extraArches != "" {
		a, err := parseArches(*extraArches)
		if err != nil {
			return err
		}
		opts["extra_arches"] = a
	}
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	u, err := s.call(ctx, "getUser", *owner)
	if err != nil {
		return err
	}
	if asMap(u) == nil {
		fmt.Fprintf(env.Stdout, "User %s does not exist\n", clean(*owner))
		return exitError{1}
	}
	tag := pos[0]
	t, err := s.call(ctx, "getTag", tag)
	if err != nil {
		return err
	}
	tm := asMap(t)
	if tm == nil {
		fmt.Fprintf(env.Stdout, "No such tag: %s\n", clean(tag))
		return exitError{1}
	}
	tagID, _ := mint(tm, "id")
	v, err := s.call(ctx, "listPackages", kojiclient.Kw{"tagID": tagID})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, p := range asMaps(v) {
		have[mstr(p, "package_name")] = true
	}
	var toAdd []string
	queued := map[string]bool{}
	for _, p := range pos[1:] {
		if have[p] {
			fmt.Fprintf(env.Stdout, "Package %s already exists in tag %s\n", p, clean(tag))
			continue
		}
		if !queued[p] { // a name given twice is added once
			queued[p] = true
			toAdd = append(toAdd, p)
		}
	}
	fmt.Fprintf(env.Stdout, "Adding %d packages to tag %s\n", len(toAdd), clean(mstr(tm, "name")))
	calls := make([]kojiclient.CallSpec, len(toAdd))
	for i, p := range toAdd {
		calls[i] = kojiclient.CallSpec{Method: "packageListAdd", Args: []any{tag, p, *owner, opts}}
	}
	res, err := s.multiCall(ctx, calls)
	if err != nil {
		return err
	}
	return reportFaults(env.Stderr, res)
}

// runListTagged is koji list-tagged TAG [PKG].
func runListTagged(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "list-tagged")
	var o clientOpts
	addClientFlags(fs, &o, true)
	latest := fs.Bool("latest", false, "only the latest build of each package")
	rpms := fs.Bool("rpms", false, "list RPMs instead of builds")
	inherit := fs.Bool("inherit", false, "follow the tag's inheritance")
	quiet := fs.Bool("quiet", false, "do not print the header")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("A tag name must be specified")
	}
	if len(pos) > 2 {
		return usageErr("Only one package name may be specified")
	}
	if err := checkNames("tag or package", pos...); err != nil {
		return err
	}
	s, err := o.connect(ctx, env, anonymous)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	tag := pos[0]
	t, err := s.call(ctx, "getTag", tag)
	if err != nil {
		return err
	}
	if asMap(t) == nil {
		return usageErr("No such tag: %s", clean(tag))
	}
	kw := kojiclient.Kw{}
	if *latest {
		kw["latest"] = true
	}
	if *inherit {
		kw["inherit"] = true
	}
	if len(pos) == 2 {
		kw["package"] = pos[1]
	}
	callArgs := []any{tag}
	if len(kw) > 0 {
		callArgs = append(callArgs, kw)
	}
	if *rpms {
		v, err := s.call(ctx, "listTaggedRPMS", callArgs...)
		if err != nil {
			return err
		}
		l := asList(v)
		if len(l) == 0 {
			return nil
		}
		var lines []string
		for _, r := range asMaps(l[0]) {
			lines = append(lines, clean(fmt.Sprintf("%s-%s-%s.%s", mstr(r, "name"), mstr(r, "version"), mstr(r, "release"), mstr(r, "arch"))))
		}
		sort.Strings(lines)
		for _, line := range lines {
			fmt.Fprintln(env.Stdout, line)
		}
		return nil
	}
	v, err := s.call(ctx, "listTagged", callArgs...)
	if err != nil {
		return err
	}
	builds := asMaps(v)
	sort.SliceStable(builds, func(i, j int) bool { return mstr(builds[i], "nvr") < mstr(builds[j], "nvr") })
	if !*quiet {
		fmt.Fprintf(env.Stdout, "%-40s  %-20s  %s\n", "Build", "Tag", "Built by")
		fmt.Fprintf(env.Stdout, "%s  %s  %s\n", strings.Repeat("-", 40), strings.Repeat("-", 20), strings.Repeat("-", 16))
	}
	for _, b := range builds {
		fmt.Fprintf(env.Stdout, "%-40s  %-20s  %-16s\n", clean(mstr(b, "nvr")), clean(mstr(b, "tag_name")), clean(mstr(b, "owner_name")))
	}
	return nil
}
