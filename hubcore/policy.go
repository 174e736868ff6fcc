package hubcore

// Hub policies: Koji's [policy] section of hub.conf, checked where Koji
// checks it (see the table in policyPoints), with Koji 1.35's default
// policies for those hub.conf does not set. The language itself is
// hubcore/policy; this file holds the policy data the hub knows about
// (users, builds, tags, packages) and the checks.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojiconf"
	"kojigo/internal/kojixml"
)

// defaultPolicies are Koji 1.35's (kojixmlrpc._default_policies): a policy
// hub.conf does not set is this. tag has none: a missing policy allows
// (Koji's MissingPolicyOk = True), and tag locks and permissions still apply.
var defaultPolicies = map[string]string{
	"build_rpm":          "all :: allow",
	"build_from_srpm":    "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
	"build_from_repo_id": "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
	"build_from_scm":     "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
	"package_list":       "has_perm admin :: allow\nhas_perm tag :: allow\nall :: deny Only admin/tag can do this via default policy",
	"channel":            "has req_channel :: req\nis_child_task :: parent\nall :: use default",
	"vm":                 "has_perm admin win-admin :: allow\nall :: deny Only admin/win-admin can do this via default policy",
	"cg_import":          "all :: allow",
	"volume":             "all :: DEFAULT",
	"priority":           "all :: stay",
	"draft_promotion":    "has_perm draft-promoter :: allow\nis_build_owner :: allow\nall :: deny Only draft-promoter and build owner can do this via default policy",
}

// PolicySection is the hub.conf section that holds the policies.
const PolicySection = "policy"

// LoadPolicies reads hub.conf's [policy] section: one policy per key, its
// rules on the continuation lines, each line keeping its file line. A
// missing file has none when optional. The policies are parsed, so that
// a policy the hub cannot use is an error naming file, line and rule.
func LoadPolicies(path string, optional bool) ([]policy.Source, error) {
	f, err := kojiconf.ParseFile(path, 0)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	sec := f.Section(PolicySection)
	if sec == nil {
		return nil, nil
	}
	// Decisions name the file: absolute, so that the log says which one.
	file := path
	if abs, err := filepath.Abs(path); err == nil {
		file = abs
	}
	srcs := make([]policy.Source, 0, len(sec.Keys))
	for _, k := range sec.Keys {
		srcs = append(srcs, policy.Source{Name: strings.ToLower(k.Name), Text: k.Value, File: file, Line: k.Line, Lines: k.Lines})
	}
	if _, err := newPolicySet(srcs); err != nil {
		return nil, err
	}
	return srcs, nil
}

// CheckPolicies parses policies as the hub would (kojictl doctor).
func CheckPolicies(srcs []policy.Source) error {
	_, err := newPolicySet(srcs)
	return err
}

// policySet is the hub's policies, evaluated for a call.
type policySet = policy.Set[*call]

// newPolicySet parses srcs over Koji's defaults.
func newPolicySet(srcs []policy.Source) (*policySet, error) {
	all := append([]policy.Source(nil), srcs...)
	set := map[string]bool{}
	for _, s := range srcs {
		set[s.Name] = true
	}
	names := make([]string, 0, len(defaultPolicies))
	for n := range defaultPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !set[n] {
			all = append(all, policy.Source{Name: n, Text: defaultPolicies[n], File: "(Koji's default policy)", Line: 1})
		}
	}
	return policy.NewSet(policyTests(), all...)
}

// isDefaultPolicy reports whether rs is one of Koji's defaults.
func isDefaultPolicy(rs *policy.Ruleset) bool { return rs != nil && strings.HasPrefix(rs.File, "(") }

// policyOutcome is check_policy's answer.
type policyOutcome struct {
	allowed  bool
	result   string // allow, deny, or what the rule said; "" when no policy or no match
	reason   string
	decision policy.Decision
	missing  bool // no such policy (allowed, as Koji's MissingPolicyOk)
	forced   bool // an admin's force overrode a refusal
}

// checkPolicy is Koji's check_policy(name, data, default='deny',
// force=force): the first word of the action is the result (allow or
// deny), the rest the reason; no match is the default with reason "not
// covered by policy"; with force an admin passes. A refusal is logged, an
// allowing decision at debug.
func (c *call) checkPolicy(name string, data policy.Data, force bool) (policyOutcome, error) {
	var out policyOutcome
	rs := c.hub.policies.Get(name)
	if rs == nil {
		out.allowed, out.missing, out.result, out.reason = true, true, "allow", "missing policy"
		return out, nil
	}
	ev := &policy.Eval[*call]{Set: c.hub.policies, Env: c}
	dec, err := ev.ApplyRuleset(rs, data)
	if err != nil {
		return out, genericErr("policy %s: %v", name, err)
	}
	out.decision = dec
	if !dec.Matched {
		out.result, out.reason = "deny", "not covered by policy"
	} else {
		word, rest, _ := strings.Cut(strings.TrimSpace(dec.Action), " ")
		out.result, out.reason = strings.ToLower(word), strings.TrimSpace(rest)
	}
	out.allowed = out.result == "allow"
	if !out.allowed && out.result != "deny" {
		c.hub.log.Error("invalid action in policy", "policy", name, "rule", dec.LastRule(), "where", dec.Where())
		out.reason = "error in policy"
	}
	user := c.policyUserName(data)
	if !out.allowed && force {
		if u, err := c.policyUser(data); err == nil && u != nil {
			if perms, err := c.hub.policyPerms(c, u.ID); err == nil && hasString(perms, "admin") {
				c.hub.log.Info("policy overridden by force", "policy", name, "user", u.Name, "reason", out.reason, "rule", dec.LastRule())
				out.allowed, out.forced, out.reason = true, true, "overriden by force"
				return out, nil
			}
		}
	}
	// Every task creation and tagging passes a policy: allowing is the
	// common case and logged at debug, a refusal always.
	level := slog.LevelDebug
	if !out.allowed {
		level = slog.LevelInfo
	}
	c.hub.log.Log(c.ctx, level, "policy decision", "policy", name, "result", out.result, "reason", out.reason, "user", user,
		"rule", dec.LastRule(), "where", dec.Where())
	return out, nil
}

// assertPolicy is Koji's assert_policy: a refusal is ActionNotAllowed,
// "policy violation (NAME): REASON [rule: RULE]" (Koji adds the rule with
// VerbosePolicy; kojigo always does, so that the refused know which rule).
func (c *call) assertPolicy(name string, data policy.Data, force bool) error {
	out, err := c.checkPolicy(name, data, force)
	if err != nil {
		return err
	}
	if out.allowed {
		return nil
	}
	return policyViolation(name, out)
}

// policyViolation is the refusal's fault.
func policyViolation(name string, out policyOutcome) *kojixml.Fault {
	msg := "policy violation (" + name + ")"
	if out.reason != "" {
		msg += ": " + out.reason
	}
	return fault(kojixml.ActionNotAllowed, "%s [rule: %s]", msg, out.decision.LastRule())
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// policyUser is Koji's policy_get_user: data's user_id (an id or a name),
// else the caller; nil for an anonymous call.
func (c *call) policyUser(d policy.Data) (*db.User, error) {
	if v, ok := d["user_id"]; ok {
		u, err := c.hub.lookupUser(c, v)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %s", pyRepr(v))
		}
		if err != nil {
			return nil, err
		}
		return &u, nil
	}
	return c.user, nil
}

func (c *call) policyUserName(d policy.Data) string {
	u, err := c.policyUser(d)
	if err != nil || u == nil {
		return ""
	}
	return u.Name
}

// policyPerms is Koji's get_user_perms(with_groups=True): the user's
// permissions and its groups'.
func (h *Hub) policyPerms(c *call, userID int64) ([]string, error) {
	perms, err := h.store.UserPerms(c.ctx, userID)
	if err != nil {
		return nil, err
	}
	groups, err := h.store.UserGroups(c.ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		gp, err := h.store.UserPerms(c.ctx, g.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range gp {
			if !hasString(perms, p) {
				perms = append(perms, p)
			}
		}
	}
	return perms, nil
}

// policyBuild is the build of data["build"] (an id, an NVR or a struct).
func (c *call) policyBuild(d policy.Data) (db.Build, error) {
	return c.hub.mustBuild(c, d["build"])
}

// policyPackage is Koji's policy_get_pkg: data's package (a name or id; a
// name not yet known has id 0, a new package), else the build's.
func (c *call) policyPackage(d policy.Data) (id int64, name string, err error) {
	if v, ok := d["package"]; ok {
		p, err := c.hub.lookupPackage(c, v)
		if errors.Is(err, db.ErrNotFound) {
			if s, isName := v.(string); isName {
				return 0, s, nil
			}
			return 0, "", genericErr("No such package: %s", pyRepr(v))
		}
		if err != nil {
			return 0, "", err
		}
		return p.ID, p.Name, nil
	}
	if _, ok := d["build"]; ok {
		b, err := c.policyBuild(d)
		if err != nil {
			return 0, "", err
		}
		return b.PackageID, b.PackageName, nil
	}
	return 0, "", genericErr("policy requires package data")
}

// policyTagName is the name of data[key]'s tag (an id or a name), "" when
// absent, None or unknown (Koji's get_tag(strict=False)).
func (c *call) policyTagName(d policy.Data, key string) (string, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return "", nil
	}
	t, err := c.hub.lookupTag(c, v)
	if errors.Is(err, db.ErrNotFound) {
		return "", nil
	}
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return "", nil
	}
	return t.Name, err
}

// policyBuildTags is Koji's policy_get_build_tags: data's build_tag or
// build_tags, else the target's build tag, else the tags of the repos the
// build's buildroots used (nil for a component without a buildroot).
func (c *call) policyBuildTags(d policy.Data) ([]*db.Tag, error) {
	var out []*db.Tag
	seen := map[string]bool{}
	add := func(t db.Tag) {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, &t)
		}
	}
	var refs []any
	if v, ok := d["build_tag"]; ok {
		refs = []any{v}
	} else if l, ok := d["build_tags"].([]any); ok {
		refs = l
	}
	for _, r := range refs {
		t, err := c.hub.mustTag(c, r)
		if err != nil {
			return nil, err
		}
		add(t)
	}
	if len(out) == 0 {
		if v := d["target"]; v != nil {
			if tgt, err := c.hub.lookupTarget(c, v); err == nil {
				t, err := c.hub.mustTag(c, tgt.BuildTagID)
				if err != nil {
					return nil, err
				}
				add(t)
			}
		}
	}
	if len(out) == 0 {
		if _, ok := d["build"]; ok {
			b, err := c.policyBuild(d)
			if err != nil {
				return nil, err
			}
			rpms, err := c.hub.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: []int64{b.ID}})
			if err != nil {
				return nil, err
			}
			for _, r := range rpms {
				if r.BuildrootID == nil {
					if !seen[""] {
						seen[""] = true
						out = append(out, nil)
					}
					continue
				}
				brs, err := c.hub.store.ListBuildroots(c.ctx, db.BuildrootFilter{ID: r.BuildrootID})
				if err != nil {
					return nil, err
				}
				if len(brs) == 0 || brs[0].RepoID == nil {
					continue
				}
				repo, err := c.hub.store.GetRepo(c.ctx, *brs[0].RepoID)
				if err != nil {
					continue
				}
				if t, err := c.hub.store.GetTag(c.ctx, repo.TagID); err == nil {
					add(t)
				}
			}
		}
	}
	return out, nil
}

// policyTests are the tests Koji's hub registers, over kojigo's database,
// with koji/policy.py's generic ones; arch and scratch are kojigo's
// shorthands for "match arch ..." and "bool scratch".
func policyTests() policy.Registry[*call] {
	type ev = policy.Eval[*call]
	match := func(get func(c *call, d policy.Data) (string, bool, error)) policy.Test[*call] {
		return policy.Test[*call]{Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			v, ok, err := get(e.Env, d)
			if err != nil || !ok {
				return false, err
			}
			return policy.MatchAny(v, args), nil
		}}
	}
	tagTest := func(key string) policy.Test[*call] {
		return match(func(c *call, d policy.Data) (string, bool, error) {
			n, err := c.policyTagName(d, key)
			return n, n != "", err
		})
	}
	cgMatch := func(all bool) policy.Test[*call] {
		return policy.Test[*call]{Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			cgs, err := e.Env.policyCGs(d)
			if err != nil || len(cgs) == 0 {
				return false, err
			}
			for _, cg := range cgs {
				ok := cg != nil && policy.MatchAny(*cg, args)
				if all && !ok {
					return false, nil
				}
				if !all && ok {
					return true, nil
				}
			}
			return all, nil
		}}
	}
	return policy.Merge(policy.Generic[*call](), policy.Registry[*call]{
		"operation":     policy.FieldMatch[*call]("operation"),
		"method":        policy.FieldMatch[*call]("method"),
		"vm_name":       policy.FieldMatch[*call]("vm_name"),
		"is_child_task": policy.FieldBool[*call]("parent"),
		"arch":          policy.FieldMatch[*call]("arch"),
		"scratch":       policy.FieldBool[*call]("scratch"),
		"skip_tag":      policy.FieldBool[*call]("skip_tag"),
		"tag":           tagTest("tag"),
		"fromtag":       tagTest("fromtag"),
		"user": match(func(c *call, d policy.Data) (string, bool, error) {
			u, err := c.policyUser(d)
			if err != nil || u == nil {
				return "", false, err
			}
			return u.Name, true, nil
		}),
		"package": match(func(c *call, d policy.Data) (string, bool, error) {
			_, n, err := c.policyPackage(d)
			return n, err == nil, err
		}),
		"is_new_package": {Run: func(e *ev, _ []string, d policy.Data) (bool, error) {
			id, _, err := e.Env.policyPackage(d)
			return id == 0 && err == nil, err
		}},
		"version": match(func(c *call, d policy.Data) (string, bool, error) {
			if v, ok := d["version"]; ok {
				return policy.Str(v), v != nil, nil
			}
			if _, ok := d["build"]; ok {
				b, err := c.policyBuild(d)
				return b.Version, err == nil, err
			}
			return "", false, genericErr("policy requires version data")
		}),
		"release": match(func(c *call, d policy.Data) (string, bool, error) {
			if v, ok := d["release"]; ok {
				return policy.Str(v), v != nil, nil
			}
			if _, ok := d["build"]; ok {
				b, err := c.policyBuild(d)
				return b.Release, err == nil, err
			}
			return "", false, genericErr("policy requires release data")
		}),
		"volume": match(func(c *call, d policy.Data) (string, bool, error) {
			// Koji's VolumeTest: data's volume (a name or id), else the
			// build's volume.
			if v, ok := d["volume"]; ok {
				vol, err := c.hub.lookupVolume(c, v)
				if err != nil || vol == nil {
					return "", false, nil
				}
				return vol.Name, true, nil
			}
			if _, ok := d["build"]; ok {
				b, err := c.policyBuild(d)
				return b.VolumeName, err == nil, err
			}
			return "", false, nil
		}),
		"hastag": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			if _, ok := d["build"]; !ok {
				return false, nil
			}
			c := e.Env
			b, err := c.policyBuild(d)
			if err != nil {
				return false, err
			}
			ids, err := c.hub.store.BuildTagIDs(c.ctx, b.ID)
			if err != nil {
				return false, err
			}
			for _, id := range ids {
				if t, err := c.hub.store.GetTag(c.ctx, id); err == nil && policy.MatchAny(t.Name, args) {
					return true, nil
				}
			}
			return false, nil
		}},
		"buildtag": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			tags, err := e.Env.policyBuildTags(d)
			if err != nil {
				return false, err
			}
			for _, t := range tags {
				if t != nil && policy.MatchAny(t.Name, args) {
					return true, nil
				}
			}
			return false, nil
		}},
		"buildtag_inherits_from": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			c := e.Env
			tags, err := c.policyBuildTags(d)
			if err != nil {
				return false, err
			}
			for _, t := range tags {
				if t == nil {
					continue
				}
				links, err := c.hub.fullInheritance(c, t.ID, nil, false)
				if err != nil {
					return false, err
				}
				for _, l := range links {
					if policy.MatchAny(l.ParentName, args) {
						return true, nil
					}
				}
			}
			return false, nil
		}},
		"buildtype": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			var types []string
			if l, ok := d["btypes"].([]any); ok {
				for _, v := range l {
					types = append(types, policy.Str(v))
				}
			} else if _, ok := d["build"]; ok {
				if _, err := e.Env.policyBuild(d); err != nil {
					return false, err
				}
				types = []string{"rpm"} // kojigo's builds are rpm builds
			}
			for _, t := range types {
				if policy.MatchAny(t, args) {
					return true, nil
				}
			}
			return false, nil
		}},
		"imported": {Run: func(e *ev, _ []string, d policy.Data) (bool, error) {
			if !policy.Truthy(d["build"]) {
				return false, genericErr("policy data must contain a build")
			}
			c := e.Env
			b, err := c.policyBuild(d)
			if err != nil {
				return false, err
			}
			rpms, err := c.hub.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: []int64{b.ID}})
			if err != nil {
				return false, err
			}
			for _, r := range rpms {
				if r.BuildrootID == nil {
					return true, nil
				}
			}
			return false, nil
		}},
		"is_build_owner": {Run: func(e *ev, _ []string, d policy.Data) (bool, error) {
			c := e.Env
			b, err := c.policyBuild(d)
			if err != nil {
				return false, err
			}
			u, err := c.policyUser(d)
			if err != nil || u == nil {
				return false, err
			}
			if b.OwnerID == u.ID {
				return true, nil
			}
			groups, err := c.hub.store.UserGroups(c.ctx, u.ID)
			if err != nil {
				return false, err
			}
			for _, g := range groups {
				if g.ID == b.OwnerID {
					return true, nil
				}
			}
			return false, nil
		}},
		"is_draft": {Run: func(e *ev, _ []string, d policy.Data) (bool, error) {
			if v, ok := d["draft"]; ok {
				return policy.Truthy(v), nil
			}
			if _, ok := d["build"]; ok {
				b, err := e.Env.policyBuild(d)
				return b.Draft, err
			}
			return false, nil
		}},
		"user_in_group": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			c := e.Env
			u, err := c.policyUser(d)
			if err != nil || u == nil {
				return false, err
			}
			groups, err := c.hub.store.UserGroups(c.ctx, u.ID)
			if err != nil {
				return false, err
			}
			for _, g := range groups {
				if policy.MatchAny(g.Name, args) {
					return true, nil
				}
			}
			return false, nil
		}},
		"has_perm": {Run: func(e *ev, args []string, d policy.Data) (bool, error) {
			c := e.Env
			u, err := c.policyUser(d)
			if err != nil || u == nil {
				return false, err
			}
			perms, err := c.hub.policyPerms(c, u.ID)
			if err != nil {
				return false, err
			}
			for _, p := range perms {
				if policy.MatchAny(p, args) {
					return true, nil
				}
			}
			return false, nil
		}},
		"source": match(func(c *call, d policy.Data) (string, bool, error) {
			if v, ok := d["source"]; ok {
				return policy.Str(v), v != nil, nil
			}
			if _, ok := d["build"]; !ok {
				return "", false, nil
			}
			b, err := c.policyBuild(d)
			if err != nil {
				return "", false, err
			}
			if b.Source != nil {
				return *b.Source, true, nil
			}
			if b.TaskID == nil {
				return "", false, nil
			}
			t, err := c.hub.store.GetTask(c.ctx, *b.TaskID)
			if err != nil {
				return "", false, nil
			}
			params, _ := decodeRequest(t.Request).([]any)
			pd := policyDataFromTaskArgs(c, t.Method, params)
			s, ok := pd["source"].(string)
			return s, ok, nil
		}),
		"cg_match_any": cgMatch(false),
		"cg_match_all": cgMatch(true),
	})
}

// policyCGs is Koji's policy_get_cgs: the content generators of data's
// cg_list (ids, as CGImport passes them, or names), else those of the
// buildroots of data's buildroots or of the build's rpms (nil for a
// buildroot that is not a content generator's: Koji's None).
func (c *call) policyCGs(d policy.Data) ([]*string, error) {
	if l, ok := d["cg_list"].([]any); ok {
		out := make([]*string, 0, len(l))
		for _, v := range l {
			if id, isID := v.(int64); isID {
				cg, err := c.hub.lookupCG(c, id, false)
				if err != nil {
					return nil, err
				}
				out = append(out, &cg.Name)
				continue
			}
			s := policy.Str(v)
			out = append(out, &s)
		}
		return out, nil
	}
	var brs []any
	hasNone := false
	if l, ok := d["buildroots"].([]any); ok {
		brs = l
	} else if _, ok := d["build"]; ok {
		b, err := c.policyBuild(d)
		if err != nil {
			return nil, err
		}
		rpms, err := c.hub.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: []int64{b.ID}})
		if err != nil {
			return nil, err
		}
		for _, r := range rpms {
			if r.BuildrootID == nil {
				hasNone = true
			} else {
				brs = append(brs, *r.BuildrootID)
			}
		}
	}
	var ids []int64
	for _, v := range brs {
		if id, ok := v.(int64); ok {
			ids = append(ids, id)
		} else {
			hasNone = true
		}
	}
	seen := map[string]bool{}
	var out []*string
	if hasNone {
		out = append(out, nil)
	}
	if len(ids) > 0 {
		rows, err := c.hub.store.ListBuildroots(c.ctx, db.BuildrootFilter{IDs: ids})
		if err != nil {
			return nil, err
		}
		for _, br := range rows {
			if br.CGName == nil {
				if !hasNone {
					hasNone = true
					out = append(out, nil)
				}
				continue
			}
			if !seen[*br.CGName] {
				seen[*br.CGName] = true
				out = append(out, br.CGName)
			}
		}
	}
	return out, nil
}

// taskParamNames are the parameter names of the task methods kojigo runs,
// for Koji's policy_data_from_task_args.
var taskParamNames = map[string][]string{
	"build":            {"src", "target", "opts"},
	"chainbuild":       {"srcs", "target", "opts"},
	"buildSRPMFromSCM": {"url", "build_tag", "opts"},
	"rebuildSRPM":      {"srpm", "build_tag", "opts"},
	"buildArch":        {"pkg", "root", "arch", "keep_srpm", "opts"},
	"tagBuild":         {"tag_id", "build_id", "force", "fromtag", "ignore_success"},
	"newRepo":          {"tag", "event", "opts"},
	"waitrepo":         {"tag", "newer_than", "nvrs"},
	"createrepo":       {"repo_id", "arch", "oldrepo"},
}

// policyDataFromTaskArgs is Koji's policy_data_from_task_args: source,
// target, tag, build_tag and scratch from a task's arguments. kojigo adds
// package, the package the source builds (its SRPM's name or its SCM
// repository), so that channel rules can name packages.
func policyDataFromTaskArgs(c *call, method string, arglist []any) policy.Data {
	out := policy.Data{}
	names, ok := taskParamNames[method]
	if !ok {
		return out
	}
	args, kw := kojixml.SplitKwargs(arglist)
	params := map[string]any{}
	for i, v := range args {
		if i < len(names) {
			params[names[i]] = v
		}
	}
	for k, v := range kw {
		params[k] = v
	}
	if method != "newRepo" {
		for _, k := range []string{"src", "spec_url", "url"} {
			if v, ok := params[k].(string); ok {
				out["source"] = v
				if p := packageFromSource(v); p != "" {
					out["package"] = p
				}
				break
			}
		}
	}
	if v, ok := params["pkg"].(string); ok && method == "buildArch" {
		if p := packageFromSource(v); p != "" {
			out["package"] = p
		}
	}
	for _, k := range []string{"target", "build_target", "target_info"} {
		v, ok := params[k]
		if !ok {
			continue
		}
		if m, isMap := v.(map[string]any); isMap {
			v = m["name"]
		}
		if v != nil {
			if t, err := c.hub.lookupTarget(c, v); err == nil {
				out["target"] = t.Name
			} else {
				v = nil
			}
		}
		if v == nil {
			out["target"] = nil
		}
		break
	}
	for _, k := range []string{"tag", "tag_id", "tag_info"} {
		if v, ok := params[k]; ok {
			if t, err := c.hub.lookupTag(c, v); err == nil {
				out["tag"] = t.Name
			}
			break
		}
	}
	if v, ok := params["build_tag"]; ok {
		if t, err := c.hub.lookupTag(c, v); err == nil {
			out["build_tag"] = t.Name
		}
	}
	if opts, ok := params["opts"].(map[string]any); ok {
		if v, ok := opts["scratch"]; ok {
			out["scratch"] = v
		}
	}
	return out
}

// routeTask is the channel and priority part of Koji's make_task: the
// channel policy chooses the task's channel (use NAME, req: the requested
// one, parent: the parent's) and the priority policy may change its
// priority (stay, set N, adjust +N/-N). req is the channel the caller asked
// for, parentChannel the parent's for a subtask.
func (c *call) routeTask(method string, arglist []any, n *db.NewTask, req *db.Channel, parentChannel *int64) error {
	data := policy.Data{"method": method, "arch": n.Arch, "owner": n.Owner, "user_id": n.Owner}
	if n.Parent != nil {
		data["parent"] = *n.Parent
	} else {
		data["parent"] = nil
	}
	if n.Label != nil {
		data["label"] = *n.Label
	} else {
		data["label"] = nil
	}
	if req != nil {
		data["req_channel"] = req.Name
	}
	for k, v := range policyDataFromTaskArgs(c, method, arglist) {
		data[k] = v
	}
	ev := &policy.Eval[*call]{Set: c.hub.policies, Env: c}
	dec, err := ev.Apply("channel", data)
	if err != nil {
		return genericErr("channel policy: %v", err)
	}
	bad := func(why string) error {
		c.hub.log.Error("invalid channel policy result", "why", why, "rule", dec.LastRule(), "where", dec.Where())
		return genericErr("invalid channel policy")
	}
	switch f := strings.Fields(dec.Action); {
	case !dec.Matched:
		c.hub.log.Warn("channel policy returned no result, using default", "method", method)
		ch, err := c.hub.store.GetChannelByName(c.ctx, "default")
		if err != nil {
			return fmt.Errorf("channel default: %w", err)
		}
		n.ChannelID = ch.ID
	case f[0] == "use" && len(f) > 1:
		ch, err := c.hub.store.GetChannelByName(c.ctx, f[1])
		if errors.Is(err, db.ErrNotFound) {
			return genericErr("No such channel: %s", f[1])
		}
		if err != nil {
			return err
		}
		if !ch.Enabled {
			return genericErr("Channel %s is disabled.", ch.Name)
		}
		n.ChannelID = ch.ID
	case f[0] == "parent":
		if parentChannel == nil {
			return bad("no parent task")
		}
		n.ChannelID = *parentChannel
	case f[0] == "req":
		if req == nil {
			return bad("no channel requested")
		}
		n.ChannelID = req.ID
	default:
		return bad("unknown action")
	}
	c.hub.log.Debug("channel policy", "method", method, "channel_id", n.ChannelID, "rule", dec.LastRule())

	dec, err = ev.Apply("priority", data)
	if err != nil {
		return genericErr("priority policy: %v", err)
	}
	if !dec.Matched {
		return nil
	}
	f := strings.Fields(dec.Action)
	badPrio := func() error {
		c.hub.log.Error("invalid result from priority policy", "rule", dec.LastRule(), "where", dec.Where())
		return genericErr("invalid priority policy")
	}
	switch {
	case f[0] == "stay":
	case (f[0] == "set" || f[0] == "adjust") && len(f) > 1:
		v, err := strconv.Atoi(f[1])
		if err != nil {
			return badPrio()
		}
		if f[0] == "set" {
			n.Priority = v
		} else {
			n.Priority += v
		}
	default:
		return badPrio()
	}
	return nil
}

// policyData converts a call's data struct for a policy.
func policyData(m map[string]any) policy.Data {
	d := policy.Data{}
	for k, v := range m {
		d[k] = v
	}
	return d
}

// policyMethods are the policy calls: Koji's evalPolicy and the host's
// checkPolicy, assertPolicy and evalPolicy, kojigo's checkPolicy and
// listPolicies for operators, and Koji's group membership calls, which the
// user_in_group test reads.
func policyMethods() []method {
	return []method{
		{name: "evalPolicy", argdesc: "(name, data)", fn: mEvalPolicy},
		{name: "host.evalPolicy", argdesc: "(name, data)", fn: mHostEvalPolicy},
		{name: "host.checkPolicy", argdesc: "(name, data, default='deny', strict=False)", fn: mHostCheckPolicy},
		{name: "host.assertPolicy", argdesc: "(name, data, default='deny')", fn: mHostAssertPolicy},
		{name: "kojigo.checkPolicy", argdesc: "(name, data)", fn: mKojigoCheckPolicy},
		{name: "kojigo.listPolicies", argdesc: "()", fn: mKojigoListPolicies},
	}
}

// evalPolicy(name, data): the action of the named policy for data, or None.
func mEvalPolicy(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	data := a.Map(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return c.evalPolicy(name, data)
}

func (c *call) evalPolicy(name string, data map[string]any) (any, error) {
	rs := c.hub.policies.Get(name)
	if rs == nil {
		return nil, genericErr("no such policy: %s", name)
	}
	dec, err := (&policy.Eval[*call]{Set: c.hub.policies, Env: c}).ApplyRuleset(rs, policyData(data))
	if err != nil {
		return nil, genericErr("policy %s: %v", name, err)
	}
	c.hub.log.Info("policy evaluated", "policy", name, "action", dec.Action, "user", c.policyUserName(policyData(data)), "rule", dec.LastRule(), "where", dec.Where())
	if !dec.Matched {
		return nil, nil
	}
	return dec.Action, nil
}

// host.evalPolicy(name, data)
func mHostEvalPolicy(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	data := a.Map(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	return c.evalPolicy(name, data)
}

// hostCheck is host.checkPolicy and host.assertPolicy: Koji's
// check_policy with the caller's default for no match.
func hostCheck(c *call, name string, data map[string]any, def string, strict bool) (any, error) {
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	out, err := c.checkPolicy(name, policyData(data), false)
	if err != nil {
		return nil, err
	}
	if !out.decision.Matched && !out.missing && def == "allow" {
		out.allowed, out.result = true, "allow"
	}
	if strict && !out.allowed {
		return nil, policyViolation(name, out)
	}
	return []any{out.allowed, out.reason}, nil
}

// host.checkPolicy(name, data, default='deny', strict=False): [allowed, reason].
func mHostCheckPolicy(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	data := a.Map(1, "data")
	def := a.OptString(2, "default", "deny")
	strict := a.OptBool(3, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return hostCheck(c, name, data, def, strict)
}

// host.assertPolicy(name, data, default='deny'): ActionNotAllowed unless allowed.
func mHostAssertPolicy(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	data := a.Map(1, "data")
	def := a.OptString(2, "default", "deny")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := hostCheck(c, name, data, def, true); err != nil {
		return nil, err
	}
	return nil, nil
}

// kojigo.checkPolicy(name, data): what the named policy decides for data,
// and which rule decided, without doing anything. data is the policy data
// (user_id defaults to the caller). Answers {policy, action, result,
// allowed, reason, rule, where, default}: action is the deciding rule's
// action (None for no match), result its first word, allowed Koji's
// check_policy answer (no match denies), rule Koji's last_rule, where the
// rule's file:line, default whether the policy is Koji's default.
func mKojigoCheckPolicy(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	data := a.OptMap(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	rs := c.hub.policies.Get(name)
	if rs == nil {
		return nil, genericErr("no such policy: %s (policies: %s)", name, strings.Join(c.hub.policies.Names(), ", "))
	}
	d := policyData(data)
	dec, err := (&policy.Eval[*call]{Set: c.hub.policies, Env: c}).ApplyRuleset(rs, d)
	if err != nil {
		return nil, genericErr("policy %s: %v", name, err)
	}
	out := map[string]any{"policy": name, "action": nil, "result": nil, "allowed": false, "reason": "not covered by policy",
		"rule": dec.LastRule(), "where": dec.Where(), "default": isDefaultPolicy(rs)}
	if dec.Matched {
		word, rest, _ := strings.Cut(strings.TrimSpace(dec.Action), " ")
		out["action"], out["result"], out["reason"] = dec.Action, strings.ToLower(word), strings.TrimSpace(rest)
		out["allowed"] = strings.EqualFold(word, "allow")
	}
	c.hub.log.Info("policy checked", "policy", name, "action", dec.Action, "user", c.policyUserName(d), "rule", dec.LastRule(), "by", c.user.Name)
	return out, nil
}

// kojigo.listPolicies(): every policy the hub checks, with its text and
// where it comes from: [{name, text, file, line, default}].
func mKojigoListPolicies(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	var out []any
	for _, n := range c.hub.policies.Names() {
		rs := c.hub.policies.Get(n)
		out = append(out, map[string]any{"name": n, "text": strings.TrimSpace(rs.Text), "file": rs.File, "line": int64(rs.Line), "default": isDefaultPolicy(rs)})
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}
