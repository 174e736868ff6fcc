package builderd

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"kojigo/internal/kojiconf"
)

// scmURL is a parsed SCM source of a build: Koji's
// git+https://host/repo.git?module#revision form.
type scmURL struct {
	URL        string
	Scheme     string // git, git+http, git+https, git+ssh, git+rsync, git+file
	User       string
	Host       string // "" for git+file
	Repository string // the path, cleaned
	Module     string // the query: a subdirectory holding the spec ("" is the top)
	Revision   string // the fragment: commit, tag or branch
}

// scmSchemes are the git URL schemes kojid checks out. git+file is a
// kojigo addition (Koji has none for local repositories).
func scmSchemes() []string {
	return []string{"git", "git+http", "git+https", "git+ssh", "git+rsync", "git+file"}
}

// isSCMURL reports whether a build's src is an SCM URL rather than an SRPM
// path under work/.
func isSCMURL(src string) bool {
	for _, s := range scmSchemes() {
		if strings.HasPrefix(src, s+"://") {
			return true
		}
	}
	return false
}

// revisionRE keeps revisions to what git takes as a ref or commit and
// cannot be read as an option.
var revisionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./+-]*$`)

// parseSCMURL parses src with Koji's rules: a known scheme, a path, a
// revision after '#'. Errors are BuildError faults naming the URL.
func parseSCMURL(src string) (*scmURL, error) {
	bad := func(why string) error {
		return buildErrorf("invalid SCM URL %s: %s", src, why)
	}
	if len(src) > 4096 || strings.ContainsAny(src, " \t\n\r\x00") {
		return nil, bad("contains white space or is too long")
	}
	scheme, rest, ok := strings.Cut(src, "://")
	if !ok || !isSCMURL(src) {
		return nil, bad("the scheme must be one of " + strings.Join(scmSchemes(), ", "))
	}
	u, err := url.Parse("http://" + rest)
	if err != nil {
		return nil, bad(err.Error())
	}
	s := &scmURL{URL: src, Scheme: scheme, Host: u.Host, Module: u.RawQuery, Revision: u.Fragment}
	if u.User != nil {
		if _, hasPW := u.User.Password(); hasPW {
			return nil, bad("passwords do not belong in SCM URLs")
		}
		s.User = u.User.Username()
	}
	if scheme == "git+file" {
		if s.Host != "" {
			return nil, bad("git+file URLs have no host: git+file:///path/to/repo#ref")
		}
	} else if s.Host == "" {
		return nil, bad("no host")
	}
	if u.Path == "" || u.Path == "/" {
		return nil, bad("no repository path")
	}
	s.Repository = path.Clean(u.Path)
	if s.Revision == "" {
		return nil, bad("no revision: add #<commit, tag or branch>")
	}
	if !revisionRE.MatchString(s.Revision) || strings.Contains(s.Revision, "..") {
		return nil, bad(fmt.Sprintf("revision %q is not a plain ref or commit", s.Revision))
	}
	if s.Module != "" {
		m := path.Clean(s.Module)
		if path.IsAbs(m) || m == ".." || strings.HasPrefix(m, "../") {
			return nil, bad(fmt.Sprintf("module %q leaves the repository", s.Module))
		}
		s.Module = m
	}
	return s, nil
}

// cloneURL is what git clones.
func (s *scmURL) cloneURL() string {
	switch s.Scheme {
	case "git":
		return "git://" + s.hostPart() + s.Repository
	case "git+file":
		return "file://" + s.Repository
	}
	return strings.TrimPrefix(s.Scheme, "git+") + "://" + s.hostPart() + s.Repository
}

func (s *scmURL) hostPart() string {
	if s.User != "" {
		return s.User + "@" + s.Host
	}
	return s.Host
}

// allowedSCM is one entry of allowed_scms: host:repository[:use_common[:source_cmd]].
type allowedSCM struct {
	hostPat   string
	repoPat   string
	useCommon bool
	sourceCmd []string // commas separate the arguments, as in Koji
}

func parseAllowedSCM(s string) (allowedSCM, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 2 {
		return allowedSCM{}, fmt.Errorf("%q: want host:repository[:use_common[:source_cmd]]", s)
	}
	a := allowedSCM{hostPat: parts[0], repoPat: parts[1], useCommon: true}
	for _, p := range []string{a.hostPat, a.repoPat} {
		if _, err := fnmatchRE(p); err != nil {
			return allowedSCM{}, fmt.Errorf("%q: %v", s, err)
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		switch strings.ToLower(parts[2]) {
		case "no", "off", "false", "0":
			a.useCommon = false
		default:
			if _, err := kojiconf.ParseBool(parts[2]); err != nil {
				return allowedSCM{}, fmt.Errorf("%q: use_common %q is not a boolean", s, parts[2])
			}
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		a.sourceCmd = strings.Split(parts[3], ",")
	}
	return a, nil
}

// checkAllowed finds the first allowed_scms entry matching s, as Koji's
// SCM.assert_allowed does; none is a BuildError.
func checkAllowed(s *scmURL, allowed []string) (allowedSCM, error) {
	for _, e := range allowed {
		a, err := parseAllowedSCM(e)
		if err != nil {
			continue // Validate rejected it already
		}
		if fnmatch(a.hostPat, s.Host) && fnmatch(a.repoPat, s.Repository) {
			return a, nil
		}
	}
	return allowedSCM{}, buildErrorf("%s:%s is not in the list of allowed SCMs", s.Host, s.Repository)
}

// fnmatch matches name against a Python fnmatch pattern: * and ? match any
// character including '/', [seq] and [!seq] match sets.
func fnmatch(pattern, name string) bool {
	re, err := fnmatchRE(pattern)
	return err == nil && re.MatchString(name)
}

func fnmatchRE(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString("(?s:.*)")
		case '?':
			b.WriteString("(?s:.)")
		case '[':
			j := i + 1
			if j < len(pattern) && pattern[j] == '!' {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				j++
			}
			for j < len(pattern) && pattern[j] != ']' {
				j++
			}
			if j >= len(pattern) {
				b.WriteString(`\[`)
				continue
			}
			set := strings.ReplaceAll(pattern[i+1:j], `\`, `\\`)
			switch {
			case strings.HasPrefix(set, "!"):
				set = "^" + set[1:]
			case strings.HasPrefix(set, "^"):
				set = `\` + set
			}
			b.WriteString("[" + set + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// scmChecker is what the build_from_scm policy check needs of the hub.
type scmChecker interface {
	Call(ctx context.Context, method string, args ...any) (any, error)
}

// assertSCMAllowed is Koji's SCM.assert_allowed: with useConfig the URL
// must match allowed_scms (which may set use_common and source_cmd), then
// with usePolicy the hub's build_from_scm policy must answer "allow
// [use_common] [source_cmd...]" (source_cmd "none" runs none; without one,
// allowed_scms's or none, kojigo's default, where Koji's is "make
// sources"), through
// evalPolicy with the SCM's fields as scm_* and extra (user_id, channel,
// scratch). With both off any URL passes, as in Koji.
func assertSCMAllowed(ctx context.Context, hub scmChecker, s *scmURL, allowed []string, useConfig, usePolicy bool, extra map[string]any) (allowedSCM, error) {
	a := allowedSCM{useCommon: true}
	if useConfig {
		var err error
		if a, err = checkAllowed(s, allowed); err != nil {
			return a, err
		}
	}
	if !usePolicy {
		return a, nil
	}
	data := map[string]any{
		"scm_url": s.URL, "scm_scheme": s.Scheme + "://", "scm_user": nilIfEmpty(s.User), "scm_host": s.Host,
		"scm_repository": s.Repository, "scm_module": s.Module, "scm_revision": s.Revision, "scm_type": "GIT",
	}
	for k, v := range extra {
		data[k] = v
	}
	v, err := hub.Call(ctx, "evalPolicy", "build_from_scm", data)
	if err != nil {
		return a, fmt.Errorf("build_from_scm policy: %w", err)
	}
	result, _ := v.(string)
	f := strings.Fields(result)
	if len(f) == 0 || !isAllowWord(f[0]) {
		reason := "None"
		if len(f) > 1 {
			reason = strings.Join(f[1:], " ")
		}
		return a, buildErrorf("SCM: %s:%s is not allowed, reason: %s", s.Host, s.Repository, reason)
	}
	applied := f[1:]
	a.useCommon = len(applied) > 0 && strings.EqualFold(applied[0], "use_common")
	if a.useCommon {
		applied = applied[1:]
	}
	switch {
	case len(applied) > 0 && strings.EqualFold(applied[0], "none"):
		a.sourceCmd = nil
	case len(applied) > 0:
		a.sourceCmd = applied
	}
	return a, nil
}

func isAllowWord(w string) bool {
	switch strings.ToLower(w) {
	case "yes", "true", "allow", "allowed":
		return true
	}
	return false
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scmPolicyData is what Koji's buildSRPMFromSCM adds to the build_from_scm
// policy's data: the task's owner, its channel's name and scratch.
func (t *task) scmPolicyData(ctx context.Context) map[string]any {
	d := map[string]any{"user_id": t.info["owner"], "scratch": nil}
	if len(t.params) > 2 {
		if opts, ok := t.params[2].(map[string]any); ok {
			d["scratch"] = opts["scratch"]
		}
	}
	if id, ok := t.info["channel_id"]; ok && t.d.cfg.AllowedSCMsUsePolicy {
		if v, err := t.d.hub.Call(ctx, "getChannel", id); err == nil {
			if m, ok := v.(map[string]any); ok {
				d["channel"] = m["name"]
			}
		}
	}
	return d
}
