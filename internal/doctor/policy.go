package doctor

import (
	"errors"
	"fmt"
	"strings"

	"kojigo/hubcore"
	"kojigo/hubcore/policy"
	"kojigo/internal/pki"
)

// checkPolicies parses hub.conf's [policy] section as kojihub does (which
// refuses to start on a policy it cannot parse): one finding per broken
// rule, with its file and line, or one that lists the policies in force.
func (r *runner) checkPolicies(path string) {
	srcs, err := hubcore.LoadPolicies(path, false)
	if err != nil {
		var pes []*policy.ParseError
		for _, e := range flatten(err) {
			var pe *policy.ParseError
			if errors.As(e, &pe) {
				pes = append(pes, pe)
			}
		}
		if len(pes) == 0 {
			return // the file itself is broken: reported by the config check
		}
		for _, pe := range pes {
			msg := fmt.Sprintf("policy %s: %s", pe.Policy, pe.Msg)
			if pe.Rule != "" {
				msg += fmt.Sprintf(" in rule %q", pe.Rule)
			}
			r.add(Error, pki.ProblemCorrupt, fmt.Sprintf("%s:%d", pe.File, pe.Line), "%s; kojihub will not start until it is fixed", msg)
		}
		return
	}
	if len(srcs) == 0 {
		r.add(OK, pki.ProblemNone, path, "no [policy] section: Koji's default policies apply (builds from SRPM and other SCMs for admins only, package lists for admin and tag, any tagging the tag's lock and permission allow)")
		return
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	r.add(OK, pki.ProblemNone, path, "[policy] parses: %s set; Koji's defaults for the others (kojictl policy show prints them all)", strings.Join(names, ", "))
}

// flatten unwraps errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
