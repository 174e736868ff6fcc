package hubcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// externalRepoMethods are Koji's external repository methods: yum
// repositories outside the hub, named and given a URL by an admin, and
// merged into the repos of the tags that use them (with inheritance, by
// priority). Every change records an event; URLs and tags' uses of repos
// are versioned, so the event= readers see the past.
func externalRepoMethods() []method {
	return []method{
		{name: "createExternalRepo", argdesc: "(name, url)", fn: mCreateExternalRepo},
		{name: "getExternalRepo", argdesc: "(info, strict=False, event=None)", fn: mGetExternalRepo},
		{name: "listExternalRepos", argdesc: "(info=None, url=None, event=None, queryOpts=None)", fn: mListExternalRepos},
		{name: "editExternalRepo", argdesc: "(info, name=None, url=None)", fn: mEditExternalRepo},
		// clean is kojigo's: False refuses to delete a repo tags still use.
		{name: "deleteExternalRepo", argdesc: "(info, clean=True)", fn: mDeleteExternalRepo},
		{name: "addExternalRepoToTag", argdesc: "(tag_info, repo_info, priority, merge_mode='koji', arches=None)", fn: mAddExternalRepoToTag},
		{name: "editTagExternalRepo", argdesc: "(tag_info, repo_info, priority=None, merge_mode=None, arches=None)", fn: mEditTagExternalRepo},
		{name: "removeExternalRepoFromTag", argdesc: "(tag_info, repo_info)", fn: mRemoveExternalRepoFromTag},
		{name: "getTagExternalRepos", argdesc: "(tag_info=None, repo_info=None, event=None)", fn: mGetTagExternalRepos},
		{name: "getExternalRepoList", argdesc: "(tag_info, event=None)", fn: mGetExternalRepoList},
		// kojira's check_external_repos (Koji 1.35): what it last saw of an
		// external repo's content; a change is a change of the tags using it.
		{name: "repo.getExternalRepoData", argdesc: "(erepo)", fn: mRepoGetExternalRepoData},
		{name: "repo.setExternalRepoData", argdesc: "(external_repo_id, data)", fn: mRepoSetExternalRepoData},
		{name: "getAllArches", argdesc: "()", fn: mGetAllArches},
	}
}

// Koji's defaults for internal names (hub options MaxNameLengthInternal,
// RegexNameInternal), which external repo names follow.
const maxNameInternal = 256

var nameInternalRE = regexp.MustCompile(`^[A-Za-z0-9/_.+-]+$`)

// shown renders a value for a fault message as Python's str() would, cut
// short and quoted when it could not be read as it is.
func shown(v any) string {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return "None"
		}
		s = fmt.Sprint(v)
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// verifyNameInternal is Koji's verify_name_internal with its default options.
func verifyNameInternal(v any) (string, error) {
	name, ok := v.(string)
	if !ok {
		return "", genericErr("Name should be string")
	}
	if len(name) > maxNameInternal {
		return "", genericErr("Name %s is too long. Max length is %d characters", shown(name), maxNameInternal)
	}
	if !nameInternalRE.MatchString(name) {
		return "", genericErr("Name %s does not match RegexNameInternal value", shown(name))
	}
	return name, nil
}

// maxRepoURL bounds an external repo's URL.
const maxRepoURL = 2048

// normalizeRepoURL checks an external repo's URL and gives it Koji's
// trailing slash. Koji takes any string; kojigo's repo engine fetches these
// URLs, so it takes only what it can fetch safely: http://HOST/..., https://HOST/...
// and file:///ABSOLUTE/PATH, with no control characters or whitespace, no
// query or fragment (repodata/repomd.xml is appended to it) and no ".."
// segment. $arch stays as it is, to be replaced per arch.
func normalizeRepoURL(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", paramErr("url: expected a string, got %s", typeOf(v))
	}
	if s == "" {
		return "", paramErr("url: empty; give an http://, https:// or file:/// URL")
	}
	if len(s) > maxRepoURL {
		return "", paramErr("url: %d bytes exceeds the limit of %d", len(s), maxRepoURL)
	}
	if !utf8.ValidString(s) {
		return "", paramErr("url: not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r), r == utf8.RuneError:
			// U+FFFD: what a control character becomes on its way here
			return "", paramErr("url %s contains a control character", shown(s))
		case unicode.IsSpace(r):
			return "", paramErr("url %s contains whitespace; write it as %%20", shown(s))
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", paramErr("url %s: cannot parse: %v", shown(s), errors.Unwrap(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" || u.Opaque != "" {
			return "", paramErr("url %s has no host: write %s://HOST/PATH", shown(s), strings.ToLower(u.Scheme))
		}
	case "file":
		if !strings.HasPrefix(strings.ToLower(s), "file:///") {
			return "", paramErr("url %s: a file URL names an absolute path on the builder: file:///PATH", shown(s))
		}
	default:
		return "", paramErr("url %s: scheme %s is not supported: use http://, https:// or file:///", shown(s), shown(u.Scheme))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return "", paramErr("url %s has a query or fragment: the repository's files are found by appending to its URL", shown(s))
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." {
			return "", paramErr("url %s has a '..' segment", shown(s))
		}
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// pyClass names a value's Python type as Koji's messages do.
func pyClass(v any) string {
	n := "object"
	switch v.(type) {
	case nil:
		n = "NoneType"
	case string:
		n = "str"
	case int64:
		n = "int"
	case float64:
		n = "float"
	case bool:
		n = "bool"
	case []any:
		n = "list"
	case map[string]any:
		n = "dict"
	}
	return "<class '" + n + "'>"
}

func typeOf(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

// repoMergeModes are Koji's REPO_MERGE_MODES.
var repoMergeModes = map[string]bool{"koji": true, "simple": true, "bare": true}

func mergeModeArg(v any) (string, error) {
	if v == nil {
		return "koji", nil // Koji: None means the default
	}
	s, ok := v.(string)
	if !ok || !repoMergeModes[s] {
		return "", genericErr("No such merge mode: %s", shown(v))
	}
	return s, nil
}

var repoArchRE = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)

// maxRepoArches bounds the arches of a tag's external repo.
const maxRepoArches = 1024

// repoArchesArg is Koji's parse_arches(arches, strict=True): a list of
// arches or a space-separated string (commas are not separators here, as
// in Koji), normalised to a space-separated string.
func repoArchesArg(v any) (*string, error) {
	var list []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if len(x) > maxRepoArches {
			return nil, paramErr("arches: %d bytes exceeds the limit of %d", len(x), maxRepoArches)
		}
		list = strings.Fields(x)
	case []any:
		if len(x) > maxRepoArches/2 {
			return nil, paramErr("arches: %d arches exceeds the limit of %d", len(x), maxRepoArches/2)
		}
		for _, a := range x {
			s, ok := a.(string)
			if !ok {
				return nil, paramErr("arches: expected strings, got %s", typeOf(a))
			}
			list = append(list, s)
		}
	default:
		return nil, paramErr("arches: expected a space-separated string or a list, got %s", typeOf(v))
	}
	for _, a := range list {
		if !repoArchRE.MatchString(a) {
			return nil, genericErr("Architecture can be only [a-zA-Z0-9_-]")
		}
	}
	s := strings.Join(list, " ")
	if len(s) > maxRepoArches {
		return nil, paramErr("arches: %d bytes exceeds the limit of %d", len(s), maxRepoArches)
	}
	return &s, nil
}

// intValue is Python's int() of an XML-RPC value, as Koji's
// convert_value(v, cast=int): integers, booleans, floats (truncated) and
// decimal strings.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<62 {
			return 0, false
		}
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// priorityArg is Koji's convert_value(priority, cast=int), bounded to the
// column's 32 bits.
func priorityArg(v any) (int64, error) {
	if v == nil {
		return 0, paramErr("Invalid type, expected type <class 'int'>")
	}
	n, ok := intValue(v)
	if !ok {
		return 0, paramErr("Invalid type for value '%s': %s, expected type <class 'int'>", shown(v), pyClass(v))
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, paramErr("priority %d is out of range (%d to %d)", n, math.MinInt32, math.MaxInt32)
	}
	return n, nil
}

func extRepoMap(r db.ExternalRepo) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "url": r.URL}
}

func tagExtRepoMap(x db.TagExternalRepo) map[string]any {
	return map[string]any{
		"external_repo_id": x.RepoID, "external_repo_name": x.RepoName, "priority": x.Priority,
		"tag_id": x.TagID, "tag_name": x.TagName, "url": x.URL, "merge_mode": x.MergeMode, "arches": optStr(x.Arches),
	}
}

// lookupExtRepo resolves Koji's repo info (an id, a name, or a struct with
// one), now or as of event ev.
func (h *Hub) lookupExtRepo(c *call, info any, ev *int64) (db.ExternalRepo, error) {
	if m, ok := info.(map[string]any); ok {
		switch {
		case m["id"] != nil:
			id, ok := intValue(m["id"])
			if !ok {
				return db.ExternalRepo{}, paramErr("Invalid name or id value: %s", shown(info))
			}
			info = id
		case m["name"] != nil:
			info = m["name"]
		}
	}
	switch x := info.(type) {
	case int64:
		return h.store.GetExternalRepo(c.ctx, x, ev)
	case string:
		return h.store.GetExternalRepoByName(c.ctx, x, ev)
	}
	return db.ExternalRepo{}, paramErr("Invalid name or id value: %s", shown(info))
}

// mustExtRepo is lookupExtRepo with Koji's strict error.
func (h *Hub) mustExtRepo(c *call, info any, ev *int64) (db.ExternalRepo, error) {
	r, err := h.lookupExtRepo(c, info, ev)
	if errors.Is(err, db.ErrNotFound) {
		return r, genericErr("No such repo: %s", shown(info))
	}
	return r, err
}

func (c *call) userID() int64 {
	if c.user == nil {
		return 0
	}
	return c.user.ID
}

// createExternalRepo(name, url) -> {id, name, url}
func mCreateExternalRepo(c *call, a *kojixml.Args) (any, error) {
	nameArg := a.Any(0, "name")
	urlArg := a.Any(1, "url")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	name, err := verifyNameInternal(nameArg)
	if err != nil {
		return nil, err
	}
	exists := genericErr("An external repo named \"%s\" already exists", name)
	if _, err := c.hub.store.GetExternalRepoByName(c.ctx, name, nil); err == nil {
		return nil, exists
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	u, err := normalizeRepoURL(urlArg)
	if err != nil {
		return nil, err
	}
	id, _, err := c.hub.store.CreateExternalRepo(c.ctx, name, u, c.userID())
	if errors.Is(err, db.ErrConflict) {
		return nil, exists
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return map[string]any{"id": id, "name": name, "url": u}, nil
}

// getExternalRepo(info, strict=False, event=None)
func mGetExternalRepo(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	strict := a.OptBool(1, "strict", false)
	ev := a.IntOrNil(2, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	r, err := c.hub.lookupExtRepo(c, info, ev)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such repo: %s", shown(info))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return extRepoMap(r), nil
}

// listExternalRepos(info=None, url=None, event=None, queryOpts=None)
func mListExternalRepos(c *call, a *kojixml.Args) (any, error) {
	info := a.OptAny(0, "info", nil)
	urlArg := a.OptAny(1, "url", nil)
	ev := a.IntOrNil(2, "event")
	qo := a.OptMap(3, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	f := db.ExternalRepoFilter{Event: ev}
	if m, ok := info.(map[string]any); ok {
		switch {
		case m["id"] != nil:
			id, ok := intValue(m["id"])
			if !ok {
				return nil, paramErr("Invalid name or id value: %s", shown(info))
			}
			info = id
		case m["name"] != nil:
			info = m["name"]
		}
	}
	switch x := info.(type) {
	case nil:
	case int64:
		f.ID = &x
	case string:
		f.Name = &x
	default:
		return nil, paramErr("Invalid name or id value: %s", shown(info))
	}
	if pyTruthy(urlArg) {
		s, ok := urlArg.(string)
		if !ok {
			return nil, paramErr("url: expected a string, got %s", typeOf(urlArg))
		}
		f.URL = &s
	}
	repos, err := c.hub.store.ListExternalRepos(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(repos))
	for _, r := range repos {
		out = append(out, extRepoMap(r))
	}
	return applyQueryOpts(out, qo)
}

// editExternalRepo(info, name=None, url=None)
func mEditExternalRepo(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	nameArg := a.OptAny(1, "name", nil)
	urlArg := a.OptAny(2, "url", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	r, err := c.hub.mustExtRepo(c, info, nil)
	if err != nil {
		return nil, err
	}
	var e db.ExternalRepoEdit
	if pyTruthy(nameArg) && nameArg != any(r.Name) {
		name, err := verifyNameInternal(nameArg)
		if err != nil {
			return nil, err
		}
		if other, err := c.hub.store.ExternalRepoIDByName(c.ctx, name); err == nil {
			return nil, genericErr("name \"%s\" is already taken by external repo %d", name, other)
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
		e.Name = &name
	}
	if pyTruthy(urlArg) {
		u, err := normalizeRepoURL(urlArg)
		if err != nil {
			return nil, err
		}
		if u != r.URL {
			e.URL = &u
		}
	}
	if e.Name == nil && e.URL == nil {
		return nil, nil
	}
	_, err = c.hub.store.EditExternalRepo(c.ctx, r.ID, e, c.userID())
	switch {
	case errors.Is(err, db.ErrConflict) && e.Name != nil:
		return nil, genericErr("name \"%s\" is already taken by another external repo", *e.Name)
	case errors.Is(err, db.ErrConflict):
		return nil, genericErr("external repo %s was changed by another call; try again", r.Name)
	case errors.Is(err, db.ErrNotFound):
		return nil, genericErr("No such repo: %s", shown(info))
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// deleteExternalRepo(info, clean=True): as Koji, the repo is removed from
// the tags that use it and deleted, in one event. clean=False (kojigo)
// refuses while any tag uses it.
func mDeleteExternalRepo(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	clean := a.OptBool(1, "clean", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	r, err := c.hub.mustExtRepo(c, info, nil)
	if err != nil {
		return nil, err
	}
	inUse := func() error {
		uses, err := c.hub.store.ListTagExternalRepos(c.ctx, db.TagExternalRepoFilter{RepoID: &r.ID})
		if err != nil {
			return err
		}
		if len(uses) == 0 {
			return nil
		}
		names := make([]string, len(uses))
		for i, u := range uses {
			names[i] = u.TagName
		}
		sort.Strings(names)
		return genericErr("external repo %s is used by tag(s): %s; remove it from them, or delete with clean=True", r.Name, strings.Join(names, ", "))
	}
	if !clean {
		if err := inUse(); err != nil {
			return nil, err
		}
	}
	_, err = c.hub.store.DeleteExternalRepo(c.ctx, r.ID, clean, c.userID())
	switch {
	case errors.Is(err, db.ErrInUse):
		if f := inUse(); f != nil {
			return nil, f
		}
		return nil, genericErr("external repo %s is in use", r.Name)
	case errors.Is(err, db.ErrNotFound):
		return nil, genericErr("No such repo: %s", shown(info))
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// checkTagRepoFree fails, with Koji's messages, when the tag already uses
// the repo or has another repo at prio.
func (h *Hub) checkTagRepoFree(c *call, t db.Tag, r db.ExternalRepo, prio int64) error {
	uses, err := h.store.ListTagExternalRepos(c.ctx, db.TagExternalRepoFilter{TagIDs: []int64{t.ID}})
	if err != nil {
		return err
	}
	for _, u := range uses {
		if u.RepoID == r.ID {
			return genericErr("tag %s already associated with external repo %s", t.Name, r.Name)
		}
	}
	for _, u := range uses {
		if u.Priority == prio {
			return genericErr("tag %s already associated with an external repo at priority %d", t.Name, prio)
		}
	}
	return nil
}

// addExternalRepoToTag(tag_info, repo_info, priority, merge_mode='koji', arches=None)
func mAddExternalRepoToTag(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag_info")
	repoInfo := a.Any(1, "repo_info")
	prioArg := a.Any(2, "priority")
	modeArg := a.OptAny(3, "merge_mode", "koji")
	archesArg := a.OptAny(4, "arches", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	mode, err := mergeModeArg(modeArg)
	if err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	r, err := c.hub.mustExtRepo(c, repoInfo, nil)
	if err != nil {
		return nil, err
	}
	arches, err := repoArchesArg(archesArg)
	if err != nil {
		return nil, err
	}
	prio, err := priorityArg(prioArg)
	if err != nil {
		return nil, err
	}
	if err := c.hub.checkTagRepoFree(c, t, r, prio); err != nil {
		return nil, err
	}
	_, err = c.hub.store.AddTagExternalRepo(c.ctx, db.TagExternalRepo{TagID: t.ID, RepoID: r.ID, Priority: prio, MergeMode: mode, Arches: arches}, c.userID())
	if errors.Is(err, db.ErrConflict) {
		// another call got there first: say what it took
		if f := c.hub.checkTagRepoFree(c, t, r, prio); f != nil {
			return nil, f
		}
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// mustTagRepoUse returns the tag's use of the repo, with Koji's error when
// there is none.
func (h *Hub) mustTagRepoUse(c *call, t db.Tag, r db.ExternalRepo) (db.TagExternalRepo, error) {
	uses, err := h.store.ListTagExternalRepos(c.ctx, db.TagExternalRepoFilter{TagIDs: []int64{t.ID}, RepoID: &r.ID})
	if err != nil {
		return db.TagExternalRepo{}, err
	}
	if len(uses) == 0 {
		return db.TagExternalRepo{}, genericErr("external repo %s not associated with tag %s", r.Name, t.Name)
	}
	return uses[0], nil
}

// editTagExternalRepo(tag_info, repo_info, priority=None, merge_mode=None,
// arches=None) -> True when something changed; None leaves a field alone.
func mEditTagExternalRepo(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag_info")
	repoInfo := a.Any(1, "repo_info")
	prioArg := a.OptAny(2, "priority", nil)
	modeArg := a.OptAny(3, "merge_mode", nil)
	archesArg := a.OptAny(4, "arches", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	r, err := c.hub.mustExtRepo(c, repoInfo, nil)
	if err != nil {
		return nil, err
	}
	cur, err := c.hub.mustTagRepoUse(c, t, r)
	if err != nil {
		return nil, err
	}
	arches, err := repoArchesArg(archesArg)
	if err != nil {
		return nil, err
	}
	next := cur
	changed := false
	if modeArg != nil && modeArg != any(cur.MergeMode) {
		if next.MergeMode, err = mergeModeArg(modeArg); err != nil {
			return nil, err
		}
		changed = true
	}
	if prioArg != nil {
		if next.Priority, err = priorityArg(prioArg); err != nil {
			return nil, err
		}
		changed = changed || next.Priority != cur.Priority
	}
	if arches != nil && (cur.Arches == nil || *arches != *cur.Arches) {
		next.Arches = arches
		changed = true
	}
	if !changed {
		return false, nil
	}
	if next.Priority != cur.Priority {
		uses, err := c.hub.store.ListTagExternalRepos(c.ctx, db.TagExternalRepoFilter{TagIDs: []int64{t.ID}})
		if err != nil {
			return nil, err
		}
		for _, u := range uses {
			if u.RepoID != r.ID && u.Priority == next.Priority {
				return nil, genericErr("tag %s already associated with an external repo at priority %d", t.Name, next.Priority)
			}
		}
	}
	_, err = c.hub.store.SetTagExternalRepo(c.ctx, next, c.userID())
	switch {
	case errors.Is(err, db.ErrConflict):
		return nil, genericErr("tag %s already associated with an external repo at priority %d", t.Name, next.Priority)
	case errors.Is(err, db.ErrNotFound):
		return nil, genericErr("external repo %s not associated with tag %s", r.Name, t.Name)
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return true, nil
}

// removeExternalRepoFromTag(tag_info, repo_info)
func mRemoveExternalRepoFromTag(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag_info")
	repoInfo := a.Any(1, "repo_info")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	r, err := c.hub.mustExtRepo(c, repoInfo, nil)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.mustTagRepoUse(c, t, r); err != nil {
		return nil, err
	}
	_, err = c.hub.store.RemoveTagExternalRepo(c.ctx, t.ID, r.ID, c.userID())
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("external repo %s not associated with tag %s", r.Name, t.Name)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// getTagExternalRepos(tag_info=None, repo_info=None, event=None): the
// uses of external repos, by priority.
func mGetTagExternalRepos(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.OptAny(0, "tag_info", nil)
	repoInfo := a.OptAny(1, "repo_info", nil)
	ev := a.IntOrNil(2, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	f := db.TagExternalRepoFilter{Event: ev}
	if pyTruthy(tagInfo) {
		t, err := c.hub.lookupTag(c, tagInfo)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such entry in table tag: %s", shown(tagInfo))
		}
		if err != nil {
			return nil, err
		}
		f.TagIDs = []int64{t.ID}
	}
	if pyTruthy(repoInfo) {
		r, err := c.hub.mustExtRepo(c, repoInfo, ev)
		if err != nil {
			return nil, err
		}
		f.RepoID = &r.ID
	}
	uses, err := c.hub.store.ListTagExternalRepos(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(uses))
	for _, u := range uses {
		out = append(out, tagExtRepoMap(u))
	}
	return out, nil
}

// getExternalRepoList(tag_info, event=None): the external repos of a tag
// and of its inheritance, as Koji's get_external_repo_list: the tag's own
// by priority, then each ancestor's in the order of its full inheritance
// (depth first, by priority), a repo listed once, where it first appears.
func mGetExternalRepoList(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag_info")
	ev := a.IntOrNil(1, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	order := []int64{t.ID}
	links, err := c.hub.fullInheritance(c, t.ID, ev, false)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		order = append(order, l.ParentID)
	}
	uses, err := c.hub.store.ListTagExternalRepos(c.ctx, db.TagExternalRepoFilter{TagIDs: order, Event: ev})
	if err != nil {
		return nil, err
	}
	rank := make(map[int64]int, len(order))
	for i, id := range order {
		rank[id] = i
	}
	sort.SliceStable(uses, func(i, j int) bool { return rank[uses[i].TagID] < rank[uses[j].TagID] })
	seen := map[int64]bool{}
	out := []any{}
	for _, u := range uses {
		if seen[u.RepoID] {
			continue
		}
		seen[u.RepoID] = true
		out = append(out, tagExtRepoMap(u))
	}
	return out, nil
}

// maxExternalRepoDataBytes bounds the JSON of repo.setExternalRepoData's
// data (kojigo: Koji has no limit; kojira stores {"max_ts": N}).
const maxExternalRepoDataBytes = 64 << 10

// externalRepoID is Koji's get_external_repo_id(info, strict=True): an id,
// a name, or a struct with one, looked up among every external repo ever
// created, deleted ones included (Koji's external_repo table).
func (h *Hub) externalRepoID(c *call, info any) (int64, error) {
	if m, ok := info.(map[string]any); ok {
		switch {
		case m["id"] != nil:
			info = m["id"]
		case m["name"] != nil:
			info = m["name"]
		}
	}
	var err error
	var id int64
	switch x := info.(type) {
	case int64:
		id = x
		_, err = h.store.ExternalRepoNameByID(c.ctx, x)
	case string:
		id, err = h.store.ExternalRepoIDByName(c.ctx, x)
	default:
		return 0, paramErr("Invalid name or id value: %s", shown(info))
	}
	if errors.Is(err, db.ErrNotFound) {
		return 0, genericErr("No such entry in table external_repo: %s", shown(info))
	}
	return id, err
}

// externalRepoDataArg is Koji's convert_value(data, cast=dict): a struct,
// or a list of [key, value] pairs as Python's dict() takes, encoded as
// JSON of at most maxExternalRepoDataBytes.
func externalRepoDataArg(v any) (string, error) {
	bad := func() error {
		if v == nil {
			return paramErr("Invalid type, expected type <class 'dict'>")
		}
		return paramErr("Invalid type for value '%s': %s, expected type <class 'dict'>", shown(v), pyClass(v))
	}
	m, ok := v.(map[string]any)
	if l, isList := v.([]any); isList {
		m = make(map[string]any, len(l))
		for _, e := range l {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return "", bad()
			}
			k, ok := pair[0].(string)
			if !ok {
				return "", paramErr("data: key %s is not a string (XML-RPC structs have string keys)", shown(pair[0]))
			}
			m[k] = pair[1]
		}
		ok = true
	}
	if !ok {
		return "", bad()
	}
	js, err := json.Marshal(m)
	if err != nil {
		return "", paramErr("data cannot be stored as JSON: %v", err)
	}
	if len(js) > maxExternalRepoDataBytes {
		return "", paramErr("data is %d bytes as JSON, more than the limit of %d (kojira stores {\"max_ts\": N})", len(js), maxExternalRepoDataBytes)
	}
	return string(js), nil
}

// repo.getExternalRepoData(erepo): the data last set for an external repo,
// or None (Koji's get_external_repo_data; no permission needed).
func mRepoGetExternalRepoData(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "erepo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, err := c.hub.externalRepoID(c, info)
	if err != nil {
		return nil, err
	}
	js, ok, err := c.hub.store.GetExternalRepoData(c.ctx, id, nil)
	if err != nil || !ok {
		return nil, err
	}
	return decodeStoredJSON(js), nil
}

// repo.setExternalRepoData(external_repo_id, data): perm repo. Replaces the
// tracking data of an external repo under a new event (Koji's
// set_external_repo_data, used by kojira with {"max_ts": N}); that event
// is a change of every tag using the repo, with inheritance, so their
// current repos stop being current at the next repo.updateEndEvents.
func mRepoSetExternalRepoData(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "external_repo_id")
	data := a.Any(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	id, err := c.hub.externalRepoID(c, info)
	if err != nil {
		return nil, err
	}
	js, err := externalRepoDataArg(data)
	if err != nil {
		return nil, err
	}
	_, err = c.hub.store.SetExternalRepoData(c.ctx, id, js, c.userID())
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, genericErr("No such entry in table external_repo: %s", shown(info))
	case errors.Is(err, db.ErrConflict):
		return nil, genericErr("external repo %d: its data was set by another call at the same time; try again", id)
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// getAllArches(): the canonical arches of every host (Koji's getAllArches;
// kojira expands $arch in external repo URLs with them).
func mGetAllArches(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	hosts, err := c.hub.store.ListHosts(c.ctx, db.HostFilter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []any{}
	for _, h := range hosts {
		for _, arch := range strings.Fields(h.Arches) {
			if ca := canonArch(arch); !seen[ca] {
				seen[ca] = true
				out = append(out, ca)
			}
		}
	}
	return out, nil
}
