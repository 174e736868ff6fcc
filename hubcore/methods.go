package hubcore

import (
	"sort"

	"kojigo/internal/kojixml"
)

// method is one entry of the API.
type method struct {
	name    string
	argdesc string // Python-style signature, for _listapi
	fn      func(c *call, a *kojixml.Args) (any, error)
	// lockFree methods may run while another session holds the user's
	// exclusive lock (Koji: exclusiveSession, login, logout).
	lockFree bool
}

// register builds the method table: the one visible list of everything the
// hub answers, by API area.
func (h *Hub) register() {
	ms := []method{
		// meta (this file, multicall.go)
		{name: "getAPIVersion", argdesc: "()", fn: mGetAPIVersion},
		{name: "getKojiVersion", argdesc: "()", fn: mGetKojiVersion},
		{name: "echo", argdesc: "(*args)", fn: mEcho},
		{name: "system.listMethods", argdesc: "()", fn: h.mListMethods},
		{name: "system.methodHelp", argdesc: "(method)", fn: h.mMethodHelp},
		{name: "_listapi", argdesc: "()", fn: h.mListAPI},
		{name: "multiCall", argdesc: "(calls, strict=False)", fn: h.mMultiCall},
		{name: "system.multicall", argdesc: "(calls)", fn: h.mSystemMulticall},

		// sessions and users (auth.go)
		{name: "login", argdesc: "(user, password, opts=None)", fn: mLogin, lockFree: true},
		{name: "sslLogin", argdesc: "(proxyuser=None, proxyauthtype=None, renew=False, exclusive=None)", fn: mSSLLogin, lockFree: true},
		{name: "logout", argdesc: "(session_id=None)", fn: mLogout, lockFree: true},
		{name: "subsession", argdesc: "()", fn: mSubsession},
		{name: "logoutChild", argdesc: "(session_id)", fn: mLogoutChild},
		{name: "exclusiveSession", argdesc: "(force=False)", fn: mExclusiveSession, lockFree: true},
		{name: "getLoggedInUser", argdesc: "()", fn: mGetLoggedInUser},
		{name: "getSessionInfo", argdesc: "(details=False, user_id=None)", fn: mGetSessionInfo},
		{name: "createUser", argdesc: "(username, status=None, krb_principal=None)", fn: mCreateUser},
		{name: "getUser", argdesc: "(userInfo=None, strict=False, krb_princs=True, groups=False)", fn: mGetUser},
		{name: "listUsers", argdesc: "(userType=0, prefix=None, queryOpts=None, perm=None, inherited_perm=False)", fn: mListUsers},
		{name: "getAllPerms", argdesc: "()", fn: mGetAllPerms},
		{name: "getPerms", argdesc: "()", fn: mGetPerms},
		{name: "getUserPerms", argdesc: "(userID=None, with_groups=True)", fn: mGetUserPerms},
		{name: "getUserPermsInheritance", argdesc: "(userID)", fn: mGetUserPermsInheritance},
		{name: "hasPerm", argdesc: "(perm, strict=True)", fn: mHasPerm},
		{name: "grantPermission", argdesc: "(userinfo, permission, create=False, description=None)", fn: mGrantPermission},
		{name: "revokePermission", argdesc: "(userinfo, permission)", fn: mRevokePermission},
		{name: "kojigo.getTLSFailures", argdesc: "()", fn: mGetTLSFailures},
	}
	ms = append(ms, hostMethods()...)
	ms = append(ms, taskMethods()...)
	ms = append(ms, schedulerMethods()...)
	ms = append(ms, uploadMethods()...)
	ms = append(ms, buildMethods()...)
	ms = append(ms, watchMethods()...)
	ms = append(ms, externalRepoMethods()...)
	ms = append(ms, groupMethods()...)
	ms = append(ms, repoMethods()...)
	ms = append(ms, repoProgressMethods()...)
	ms = append(ms, importMethods()...)
	ms = append(ms, cgImportMethods()...)
	ms = append(ms, policyMethods()...)
	ms = append(ms, adminAreaMethods()...)
	ms = append(ms, searchMethods()...)
	ms = append(ms, buildInfoMethods()...)
	ms = append(ms, historyMethods()...)
	ms = append(ms, signatureMethods()...)
	ms = append(ms, distRepoMethods()...)
	ms = append(ms, cloneTagMethods()...)
	ms = append(ms, buildrootMethods()...)
	ms = append(ms, kojiwebMethods()...)
	ms = append(ms, buildOpsMethods()...)
	ms = append(ms, restartMethods()...)
	h.methods = make(map[string]*method, len(ms))
	for i := range ms {
		m := &ms[i]
		if _, dup := h.methods[m.name]; dup {
			panic("hubcore: method registered twice: " + m.name)
		}
		h.methods[m.name] = m
		h.names = append(h.names, m.name)
	}
	sort.Strings(h.names)
}

func mGetAPIVersion(c *call, a *kojixml.Args) (any, error) {
	return APIVersion, a.Done()
}

func mGetKojiVersion(c *call, a *kojixml.Args) (any, error) {
	return KojiVersion, a.Done()
}

func mEcho(c *call, a *kojixml.Args) (any, error) {
	args := a.Rest(0)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if args == nil {
		args = []any{}
	}
	return args, nil
}

func (h *Hub) mListMethods(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	out := make([]any, len(h.names))
	for i, n := range h.names {
		out[i] = n
	}
	return out, nil
}

func (h *Hub) mListAPI(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	out := make([]any, 0, len(h.names))
	for _, n := range h.names {
		m := h.methods[n]
		out = append(out, map[string]any{"name": n, "argdesc": m.argdesc, "doc": nil})
	}
	return out, nil
}

// mMethodHelp is Koji's system.methodHelp(method): the method's name with
// its arguments, or "" for a method the hub does not have.
func (h *Hub) mMethodHelp(c *call, a *kojixml.Args) (any, error) {
	name := a.Any(0, "method")
	if err := a.Done(); err != nil {
		return nil, err
	}
	s, ok := name.(string)
	if !ok {
		if _, isList := name.([]any); isList {
			return nil, genericErr("unhashable type: 'list'")
		}
		if _, isMap := name.(map[string]any); isMap {
			return nil, genericErr("unhashable type: 'dict'")
		}
		return "", nil
	}
	m := h.methods[s]
	if m == nil {
		return "", nil
	}
	return s + m.argdesc, nil
}

// mMultiCall is Koji's multiCall(calls, strict=False): each call runs in turn;
// a fault is returned in place (or, with strict, ends the batch).
func (h *Hub) mMultiCall(c *call, a *kojixml.Args) (any, error) {
	calls := a.List(0, "calls")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return h.runBatch(c, calls, strict)
}

// mSystemMulticall is the XML-RPC standard's system.multicall.
func (h *Hub) mSystemMulticall(c *call, a *kojixml.Args) (any, error) {
	calls := a.List(0, "calls")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return h.runBatch(c, calls, false)
}

// maxBatch bounds the calls in one multicall.
const maxBatch = 10000

func (h *Hub) runBatch(c *call, calls []any, strict bool) (any, error) {
	if len(calls) > maxBatch {
		return nil, paramErr("multicall of %d calls exceeds the limit of %d", len(calls), maxBatch)
	}
	out := make([]any, 0, len(calls))
	for i, raw := range calls {
		spec, ok := raw.(map[string]any)
		name, _ := spec["methodName"].(string)
		params, pok := spec["params"].([]any)
		if _, has := spec["params"]; !has {
			pok = true
		}
		var res any
		var f *kojixml.Fault
		switch {
		case !ok || name == "" || !pok:
			f = paramErr("multicall entry %d: want a struct with methodName and params", i)
		case name == "multiCall" || name == "system.multicall":
			f = genericErr("multicall cannot be nested")
		default:
			sub := *c
			sub.method = name
			sub.wrote = false
			sub.callnum = nil // the batch stores its callnum once, after it
			res, f = h.dispatch(&sub, name, params, nil)
			c.wrote = c.wrote || sub.wrote
		}
		if f != nil {
			if strict {
				return nil, f
			}
			out = append(out, map[string]any{"faultCode": f.Code, "faultString": f.String})
			continue
		}
		out = append(out, []any{res})
	}
	return out, nil
}
