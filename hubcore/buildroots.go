package hubcore

import (
	"errors"
	"fmt"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Buildroots: where a builder built each package and what the buildroot
// held, as Koji records them.
//
//	host.newBuildRoot          INIT, at a new event
//	host.setBuildRootList      what was installed (INIT only)
//	host.setBuildRootState     BUILDING, ..., EXPIRED (at its retire event; final)
//	host.updateBuildRootList   what was installed later (BUILDING only; is_update)
//
// host.completeBuild records each rpm's buildroot from the build task's
// brmap; listRPMs(componentBuildrootID=), listBuildroots(rpmID=),
// getBuildrootListing and buildReferences read the listing back.
func buildrootMethods() []method {
	return []method{
		{name: "listBuildroots", argdesc: "(hostID=None, tagID=None, state=None, rpmID=None, archiveID=None, taskID=None, buildrootID=None, repoID=None, queryOpts=None)", fn: mListBuildroots},
		{name: "getBuildroot", argdesc: "(buildrootID, strict=False)", fn: mGetBuildroot},
		{name: "getBuildrootListing", argdesc: "(id)", fn: mGetBuildrootListing},
		{name: "host.newBuildRoot", argdesc: "(repo, arch, task_id=None)", fn: mHostNewBuildRoot},
		{name: "host.setBuildRootState", argdesc: "(brootid, state, task_id=None)", fn: mHostSetBuildRootState},
		{name: "host.setBuildRootList", argdesc: "(brootid, rpmlist, task_id=None)", fn: mHostSetBuildRootList},
		{name: "host.updateBuildRootList", argdesc: "(brootid, rpmlist, task_id=None)", fn: mHostUpdateBuildRootList},
	}
}

// maxBuildrootList bounds one setBuildRootList/updateBuildRootList call; a
// Fedora buildroot holds a few hundred packages.
const maxBuildrootList = 50000

// builderHostRepoName names the origin of an external package that came
// from no external repo: the builder's own system (rpmbuild mode).
const builderHostRepoName = "builder host"

// buildrootStates are Koji's buildroot state names.
var buildrootStates = map[string]int{"INIT": db.BuildrootInit, "WAITING": db.BuildrootWaiting, "BUILDING": db.BuildrootBuilding, "EXPIRED": db.BuildrootExpired}

// buildrootStateArg reads a state: a number or a name.
func buildrootStateArg(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		if x >= db.BuildrootInit && x <= db.BuildrootExpired {
			return int(x), true
		}
	case string:
		if s, ok := buildrootStates[strings.ToUpper(x)]; ok {
			return s, true
		}
	}
	return 0, false
}

// listBuildroots(hostID=None, tagID=None, state=None, rpmID=None,
// archiveID=None, taskID=None, buildrootID=None, repoID=None, queryOpts=None):
// state and buildrootID may be lists; rpmID: the buildroots that held
// that rpm. Rows carry Koji's query_buildroots fields. This hub records no
// archives: archiveID matches nothing.
func mListBuildroots(c *call, a *kojixml.Args) (any, error) {
	host := a.OptAny(0, "hostID", nil)
	tag := a.OptAny(1, "tagID", nil)
	state := a.OptAny(2, "state", nil)
	rpm := a.OptAny(3, "rpmID", nil)
	archive := a.OptAny(4, "archiveID", nil)
	task := a.OptAny(5, "taskID", nil)
	brID := a.OptAny(6, "buildrootID", nil)
	repo := a.OptAny(7, "repoID", nil)
	qo := a.OptMap(8, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	var f db.BuildrootFilter
	for _, x := range []struct {
		name string
		v    any
		dst  **int64
	}{{"tagID", tag, &f.TagID}, {"rpmID", rpm, &f.RPMID}, {"taskID", task, &f.TaskID}, {"repoID", repo, &f.RepoID}} {
		if x.v == nil {
			continue
		}
		id, err := intArg(x.name, x.v)
		if err != nil {
			return nil, err
		}
		*x.dst = &id
	}
	if archive != nil {
		if _, err := intArg("archiveID", archive); err != nil {
			return nil, err
		}
		return applyQueryOpts([]any{}, buildrootQueryOpts(qo))
	}
	if host != nil {
		h, err := c.hub.lookupHost(c, host)
		if errors.Is(err, db.ErrNotFound) {
			return applyQueryOpts([]any{}, buildrootQueryOpts(qo))
		}
		if err != nil {
			return nil, err
		}
		f.HostID = &h.ID
	}
	switch s := state.(type) {
	case nil:
	case []any:
		f.States = []int{}
		for i, v := range s {
			st, ok := buildrootStateArg(v)
			if !ok {
				return nil, paramErr("state[%d]: invalid buildroot state %s", i, pyRepr(v))
			}
			f.States = append(f.States, st)
		}
	default:
		st, ok := buildrootStateArg(s)
		if !ok {
			return nil, paramErr("state: invalid buildroot state %s", pyRepr(state))
		}
		f.State = &st
	}
	switch b := brID.(type) {
	case nil:
	case []any:
		if len(b) > 10000 {
			return nil, paramErr("buildrootID: %d ids exceeds the limit of 10000", len(b))
		}
		f.IDs = []int64{}
		for i, v := range b {
			id, err := intArg(fmt.Sprintf("buildrootID[%d]", i), v)
			if err != nil {
				return nil, err
			}
			f.IDs = append(f.IDs, id)
		}
	default:
		id, err := intArg("buildrootID", b)
		if err != nil {
			return nil, err
		}
		f.ID = &id
	}
	brs, err := c.hub.store.ListBuildroots(c.ctx, f)
	if err != nil {
		return nil, err
	}
	bm := newBuildrootMapper(c)
	out := make([]any, 0, len(brs))
	for _, b := range brs {
		m, err := bm.row(b)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return applyQueryOpts(out, buildrootQueryOpts(qo))
}

// buildrootQueryOpts accepts Koji's column names in an order
// ("buildroot.id", "-standard_buildroot.state"): the part after the last
// dot is the field.
func buildrootQueryOpts(qo map[string]any) map[string]any {
	order, ok := qo["order"].(string)
	if !ok || !strings.Contains(order, ".") {
		return qo
	}
	keys := strings.Split(order, ",")
	for i, k := range keys {
		desc := strings.HasPrefix(k, "-")
		k = strings.TrimPrefix(k, "-")
		if j := strings.LastIndexByte(k, '.'); j >= 0 {
			k = k[j+1:]
		}
		if desc {
			k = "-" + k
		}
		keys[i] = k
	}
	out := make(map[string]any, len(qo))
	for k, v := range qo {
		out[k] = v
	}
	out["order"] = strings.Join(keys, ",")
	return out
}

// getBuildroot(buildrootID, strict=False): one listBuildroots row, or None.
func mGetBuildroot(c *call, a *kojixml.Args) (any, error) {
	v := a.Any(0, "buildrootID")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, err := intArg("buildrootID", v)
	if err != nil {
		return nil, err
	}
	brs, err := c.hub.store.ListBuildroots(c.ctx, db.BuildrootFilter{ID: &id})
	if err != nil {
		return nil, err
	}
	if len(brs) == 0 {
		if strict {
			return nil, genericErr("No such buildroot: %d", id)
		}
		return nil, nil
	}
	return newBuildrootMapper(c).row(brs[0])
}

// mustBuildroot reads a buildroot with Koji's BuildRoot(id) error.
func (h *Hub) mustBuildroot(c *call, id int64) (db.Buildroot, error) {
	brs, err := h.store.ListBuildroots(c.ctx, db.BuildrootFilter{ID: &id})
	if err != nil {
		return db.Buildroot{}, err
	}
	if len(brs) == 0 {
		return db.Buildroot{}, genericErr("no buildroot with ID: %d", id)
	}
	return brs[0], nil
}

// getBuildrootListing(id): the packages of a buildroot, as Koji's
// BuildRoot.getList: rpm_id, is_update, name, version, release, epoch,
// arch, build_id, draft, external_repo_id, external_repo_name. An external
// package has rpm_id and build_id None.
func mGetBuildrootListing(c *call, a *kojixml.Args) (any, error) {
	v := a.Any(0, "id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, err := intArg("id", v)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.mustBuildroot(c, id); err != nil {
		return nil, err
	}
	rows, err := c.hub.store.ListBuildrootRPMs(c.ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, listingMap(r))
	}
	return out, nil
}

func listingMap(r db.BuildrootRPM) map[string]any {
	var erepoID any = int64(0)
	erepoName := "INTERNAL"
	switch {
	case r.ExternalRepoID != nil:
		erepoID, erepoName = *r.ExternalRepoID, r.ExternalRepoName
	case r.RPMID == nil:
		erepoID, erepoName = nil, builderHostRepoName
	}
	return map[string]any{
		"rpm_id": optInt(r.RPMID), "is_update": r.IsUpdate, "name": r.Name, "version": r.Version,
		"release": r.Release, "epoch": optInt(r.Epoch), "arch": r.Arch, "build_id": optInt(r.BuildID),
		"draft": false, "external_repo_id": erepoID, "external_repo_name": erepoName,
	}
}

// buildrootMapper turns buildroot rows into Koji's query_buildroots maps,
// reading each repo and host once.
type buildrootMapper struct {
	c     *call
	repos map[int64]*db.Repo
	hosts map[int64]any
}

func newBuildrootMapper(c *call) *buildrootMapper {
	return &buildrootMapper{c: c, repos: map[int64]*db.Repo{}, hosts: map[int64]any{}}
}

func (bm *buildrootMapper) row(b db.Buildroot) (map[string]any, error) {
	m := map[string]any{
		"id": b.ID, "br_type": int64(0), "cg_id": nil, "cg_name": nil, "cg_version": nil,
		"arch": b.Arch, "container_arch": b.Arch, "container_type": "chroot",
		"host_os": nil, "host_arch": nil, "extra": nil,
		"state": int64(b.State), "task_id": optInt(b.TaskID),
		"host_id": optInt(b.HostID), "host_name": nil,
		"repo_id": optInt(b.RepoID), "repo_state": nil, "tag_id": nil, "tag_name": nil,
		"create_event_id": optInt(b.CreateEvent), "create_event_time": kojiTime(&b.CreateTime), "create_ts": b.CreateTime,
		"retire_event_id": optInt(b.RetireEvent), "retire_event_time": kojiTime(b.RetireTime), "retire_ts": kojiTS(b.RetireTime),
		"repo_create_event_id": nil, "repo_create_event_time": nil,
	}
	if b.BrType == db.BuildrootExternal {
		// a content generator's buildroot: Koji's buildroot row with no
		// standard_buildroot, so no state, task, host, repo or events
		var extra any
		if b.Extra != nil {
			extra = decodeStoredJSON(*b.Extra)
		}
		for k, v := range map[string]any{
			"br_type": int64(db.BuildrootExternal), "cg_id": optInt(b.CGID), "cg_name": optStr(b.CGName), "cg_version": optStr(b.CGVersion),
			"arch": optStr(b.ContainerArch), "container_arch": optStr(b.ContainerArch), "container_type": optStr(b.ContainerType),
			"host_os": optStr(b.HostOS), "host_arch": optStr(b.HostArch), "extra": extra,
			"state": nil, "create_event_id": nil, "create_event_time": nil, "create_ts": nil,
			"retire_event_id": nil, "retire_event_time": nil, "retire_ts": nil,
		} {
			m[k] = v
		}
		return m, nil
	}
	if b.HostID != nil {
		name, ok := bm.hosts[*b.HostID]
		if !ok {
			h, err := bm.c.hub.store.GetHost(bm.c.ctx, *b.HostID)
			switch {
			case err == nil:
				name = h.Name
			case errors.Is(err, db.ErrNotFound):
				name = nil
			default:
				return nil, err
			}
			bm.hosts[*b.HostID] = name
		}
		m["host_name"] = name
	}
	if b.RepoID != nil {
		r, ok := bm.repos[*b.RepoID]
		if !ok {
			var err error
			if r, err = bm.c.hub.repoInfo(bm.c, *b.RepoID); err != nil {
				return nil, err
			}
			bm.repos[*b.RepoID] = r
		}
		if r != nil {
			m["repo_state"] = int64(r.State)
			m["tag_id"], m["tag_name"] = r.TagID, r.TagName
			m["repo_create_event_id"] = r.CreateEvent
			m["repo_create_event_time"] = kojiTime(&r.CreateTS)
		}
	}
	return m, nil
}

// host.newBuildRoot(repo, arch, task_id=None): records a buildroot of the
// calling host over a repo, INIT at a new event; returns its id.
func mHostNewBuildRoot(c *call, a *kojixml.Args) (any, error) {
	repo := a.Int(0, "repo")
	arch := a.String(1, "arch")
	taskID := a.IntOrNil(2, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := parseArches(arch); err != nil || arch == "" || strings.ContainsAny(arch, " /") {
		return nil, paramErr("arch: invalid value %s", pyRepr(arch))
	}
	if taskID != nil {
		if _, err := c.hub.buildHostTask(c, host, *taskID); err != nil {
			return nil, err
		}
	}
	ok, err := c.hub.store.RepoExists(c.ctx, repo)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, genericErr("No such repo: %d", repo)
	}
	id, err := c.hub.store.CreateBuildroot(c.ctx, db.Buildroot{HostID: &host.ID, RepoID: &repo, TaskID: taskID, Arch: arch})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// hostBuildroot checks a host call on a buildroot, as Koji's: task_id, when
// given, must be OPEN on the calling host and hold the buildroot; the
// buildroot must be the host's.
func (c *call) hostBuildroot(id int64, taskID *int64) (db.Buildroot, error) {
	host, err := c.requireHost()
	if err != nil {
		return db.Buildroot{}, err
	}
	if taskID != nil {
		if _, err := c.hub.buildHostTask(c, host, *taskID); err != nil {
			return db.Buildroot{}, err
		}
	}
	br, err := c.hub.mustBuildroot(c, id)
	if err != nil {
		return br, err
	}
	if br.HostID == nil || *br.HostID != host.ID {
		return br, notAllowed("Host %d not owner of buildroot %d", host.ID, id)
	}
	if taskID != nil && (br.TaskID == nil || *br.TaskID != *taskID) {
		return br, notAllowed("Task %d does not have lock on buildroot %d", *taskID, id)
	}
	return br, nil
}

// host.setBuildRootState(brootid, state, task_id=None): state is a number
// or a name (WAITING, BUILDING, EXPIRED; never back to INIT). Expiring
// records the retire event; an EXPIRED buildroot takes no other state.
func mHostSetBuildRootState(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "brootid")
	stateArg := a.Any(1, "state")
	taskID := a.IntOrNil(2, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	state, ok := buildrootStateArg(stateArg)
	if !ok {
		return nil, paramErr("state: invalid buildroot state %s", pyRepr(stateArg))
	}
	if _, err := c.hostBuildroot(id, taskID); err != nil {
		return nil, err
	}
	if state == db.BuildrootInit {
		return nil, genericErr("Cannot change buildroot state to INIT")
	}
	err := c.hub.store.SetBuildrootState(c.ctx, id, state)
	if errors.Is(err, db.ErrBuildrootExpired) {
		return nil, genericErr("buildroot %d is EXPIRED", id)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// host.setBuildRootList(brootid, rpmlist, task_id=None): the packages
// installed in an INIT buildroot.
func mHostSetBuildRootList(c *call, a *kojixml.Args) (any, error) {
	return setBuildrootList(c, a, false)
}

// host.updateBuildRootList(brootid, rpmlist, task_id=None): packages
// installed in a BUILDING buildroot after its setup, listed is_update;
// those already listed are left alone.
func mHostUpdateBuildRootList(c *call, a *kojixml.Args) (any, error) {
	return setBuildrootList(c, a, true)
}

func setBuildrootList(c *call, a *kojixml.Args, update bool) (any, error) {
	id := a.Int(0, "brootid")
	list := a.List(1, "rpmlist")
	taskID := a.IntOrNil(2, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if len(list) > maxBuildrootList {
		return nil, paramErr("rpmlist: %d packages exceeds the limit of %d", len(list), maxBuildrootList)
	}
	br, err := c.hostBuildroot(id, taskID)
	if err != nil {
		return nil, err
	}
	want := db.BuildrootInit
	if update {
		want = db.BuildrootBuilding
	}
	if br.State != want {
		return nil, genericErr("buildroot %d in wrong state %d", id, br.State)
	}
	rows := make([]db.BuildrootRPM, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, paramErr("rpmlist[%d]: expected a struct, got %s", i, pyClass(e))
		}
		r, err := c.buildrootEntry(m)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	if _, err := c.hub.store.AddBuildrootRPMs(c.ctx, id, rows, update); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// buildrootEntry matches one package a builder reports, as Koji's
// BuildRoot._setList does:
//   - location (an external repo's id or name): an external package of that
//     repo, with Koji's add_external_rpm fields;
//   - id: the kojigo rpm of that id;
//   - otherwise the kojigo rpm of that name, version, release and arch.
//
// A kojigo rpm must have the payloadhash (the package's SIGMD5) the entry
// gives, when it gives one. kojigo's kojid marks the packages of the
// builder's own system with external=True: one that is no kojigo rpm (or
// differs from it) is listed as external, with no repo.
func (c *call) buildrootEntry(m map[string]any) (db.BuildrootRPM, error) {
	if loc := m["location"]; loc != nil {
		r, err := externalEntry(m)
		if err != nil {
			return r, err
		}
		repo, err := c.hub.lookupExtRepo(c, loc, nil)
		if errors.Is(err, db.ErrNotFound) {
			return r, genericErr("No such external repo: %s", pyRepr(loc))
		}
		if err != nil {
			return r, err
		}
		r.ExternalRepoID = &repo.ID
		return r, nil
	}
	var rpm db.RPM
	var err error
	if idv, ok := m["id"]; ok && idv != nil {
		id, ok := idv.(int64)
		if !ok {
			return db.BuildrootRPM{}, paramErr("rpmlist: invalid rpm id %s", pyRepr(idv))
		}
		rpm, err = c.hub.store.GetRPM(c.ctx, id)
	} else {
		var nvra [4]string
		for i, k := range []string{"name", "version", "release", "arch"} {
			s, ok := m[k].(string)
			if !ok || s == "" {
				return db.BuildrootRPM{}, genericErr("%s field missing: %s", k, pyRepr(m))
			}
			nvra[i] = s
		}
		rpm, err = c.hub.store.GetRPMByNVRA(c.ctx, nvra[0], nvra[1], nvra[2], nvra[3])
	}
	external, _ := m["external"].(bool)
	hash, _ := m["payloadhash"].(string)
	switch {
	case err == nil && (hash == "" || strings.EqualFold(hash, rpm.PayloadHash)):
		return db.BuildrootRPM{RPMID: &rpm.ID, Name: rpm.Name, Version: rpm.Version, Release: rpm.Release, Epoch: rpm.Epoch,
			Arch: rpm.Arch, PayloadHash: rpm.PayloadHash, Size: rpm.Size, BuildTime: rpm.BuildTime}, nil
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return db.BuildrootRPM{}, err
	case external:
		return externalEntry(m)
	case err != nil:
		return db.BuildrootRPM{}, genericErr("No such rpm: %s", pyRepr(m))
	}
	return db.BuildrootRPM{}, genericErr("RPM %s: payloadhash %s does not match the rpm built here (%s)", rpm.Filename(), hash, rpm.PayloadHash)
}

// externalEntry checks an external package's fields as Koji's
// add_external_rpm: name, version, release, arch and payloadhash strings
// (payloadhash empty for a package without SIGMD5), epoch an integer or
// None, size and buildtime integers.
func externalEntry(m map[string]any) (db.BuildrootRPM, error) {
	var r db.BuildrootRPM
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &r.Name}, {"version", &r.Version}, {"release", &r.Release}, {"arch", &r.Arch}, {"payloadhash", &r.PayloadHash}} {
		v, present := m[f.name]
		if !present {
			return r, genericErr("%s field missing: %s", f.name, pyRepr(m))
		}
		s, ok := v.(string)
		if !ok || (s == "" && f.name != "payloadhash") || len(s) > 1024 {
			return r, genericErr("Invalid value for %s: %s", f.name, pyRepr(v))
		}
		*f.dst = s
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"size", &r.Size}, {"buildtime", &r.BuildTime}} {
		v, present := m[f.name]
		if !present {
			return r, genericErr("%s field missing: %s", f.name, pyRepr(m))
		}
		n, ok := v.(int64)
		if !ok {
			return r, genericErr("Invalid value for %s: %s", f.name, pyRepr(v))
		}
		*f.dst = n
	}
	v, present := m["epoch"]
	if !present {
		return r, genericErr("epoch field missing: %s", pyRepr(m))
	}
	switch e := v.(type) {
	case nil:
	case int64:
		r.Epoch = &e
	default:
		return r, genericErr("Invalid value for epoch: %s", pyRepr(v))
	}
	return r, nil
}

// rpmBuildrootArgs applies listRPMs' componentBuildrootID and hostID to a
// filter; it returns the listing of the component buildroot (rpm id ->
// is_update) to add to the rows, nil without one.
func (c *call) rpmBuildrootArgs(f *db.RPMFilter, comp, host any) (map[int64]bool, error) {
	if host != nil {
		id, err := intArg("hostID", host)
		if err != nil {
			return nil, err
		}
		f.HostID = &id
	}
	if comp == nil {
		return nil, nil
	}
	id, err := intArg("componentBuildrootID", comp)
	if err != nil {
		return nil, err
	}
	f.ComponentBuildrootID = &id
	rows, err := c.hub.store.ListBuildrootRPMs(c.ctx, id)
	if err != nil {
		return nil, err
	}
	upd := map[int64]bool{}
	for _, r := range rows {
		if r.RPMID != nil {
			upd[*r.RPMID] = r.IsUpdate
		}
	}
	return upd, nil
}

// buildRPMUses is buildReferences' rpms entry: {id, name, version,
// release, arch, build_id} of the rpms built in buildroots that held the
// build's rpms, and the newest such buildroot's creation time.
func (c *call) buildRPMUses(buildID int64, limit *int64) ([]any, *float64, error) {
	n := 0
	if limit != nil {
		if *limit <= 0 {
			n = -1
		} else {
			n = int(min(*limit, 1<<20))
		}
	}
	uses, last, err := c.hub.store.BuildRPMUses(c.ctx, buildID, max(n, 0))
	if err != nil {
		return nil, nil, err
	}
	out := []any{}
	for _, u := range uses {
		if n < 0 {
			break
		}
		out = append(out, map[string]any{"id": u.ID, "name": u.Name, "version": u.Version, "release": u.Release, "arch": u.Arch, "build_id": u.BuildID})
	}
	return out, last, nil
}

// checkBrmap checks completeBuild's brmap as Koji's import_build: every
// buildroot it names exists (None: the package has no buildroot).
func (c *call) checkBrmap(brmap map[string]any) error {
	seen := map[int64]bool{}
	for _, k := range sortedKwargKeys(brmap) {
		switch v := brmap[k].(type) {
		case nil:
		case int64:
			if seen[v] {
				continue
			}
			seen[v] = true
			if _, err := c.hub.mustBuildroot(c, v); err != nil {
				return err
			}
		default:
			return genericErr("no buildroot with ID: %s", pyRepr(v))
		}
	}
	return nil
}
