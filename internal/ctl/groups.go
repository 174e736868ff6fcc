package ctl

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"kojigo/internal/comps"
	"kojigo/internal/kojiclient"
)

// runImportComps is koji import-comps FILE TAG [--force]: each group of the
// comps file is added to the tag (groupListAdd), then its packages
// (groupPackageListAdd), printing what it adds as the koji CLI does. Unlike
// the koji CLI (libcomps has none), it also adds the groups' grouplists
// (groupReqListAdd), once every group is in. The file is read, with a size
// bound and no entity expansion, before the hub is contacted.
func runImportComps(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import-comps")
	var o clientOpts
	addClientFlags(fs, &o, true)
	force := fs.Bool("force", false, "force import (override blocked groups and packages)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErr("Incorrect number of arguments: import-comps FILE TAG")
	}
	file, tag := pos[0], pos[1]
	if err := checkNames("tag", tag); err != nil {
		return err
	}
	groups, err := readCompsFile(file)
	if err != nil {
		return err
	}
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	t, err := s.call(ctx, "getTag", tag)
	if err != nil {
		return err
	}
	if asMap(t) == nil {
		return fmt.Errorf("No such tag: %s", clean(tag))
	}
	// koji sends force=None unless --force
	var forceArg any
	if *force {
		forceArg = true
	}
	for _, g := range groups {
		name := "None"
		var display any
		if g.Name != "" {
			name, display = g.Name, g.Name
		}
		fmt.Fprintf(env.Stdout, "Group: %s (%s)\n", clean(g.ID), clean(name))
		_, err := s.call(ctx, "groupListAdd", tag, g.ID, kojiclient.Kw{
			"force": forceArg, "display_name": display, "is_default": g.Default, "uservisible": g.UserVisible,
			"description": optText(g.Description), "langonly": optText(g.LangOnly), "biarchonly": g.BiarchOnly})
		if err != nil {
			return fmt.Errorf("group %s: %w", clean(g.ID), err)
		}
		for _, p := range g.Packages {
			opts := map[string]any{"type": p.Type, "basearchonly": p.BasearchOnly}
			if p.Type == "conditional" {
				opts["requires"] = p.Requires
			}
			fmt.Fprintf(env.Stdout, "  Package: %s: {%s}\n", clean(p.Name), pyDict(opts))
			kw := kojiclient.Kw{"force": forceArg}
			for k, v := range opts {
				kw[k] = v
			}
			if _, err := s.call(ctx, "groupPackageListAdd", tag, g.ID, p.Name, kw); err != nil {
				return fmt.Errorf("group %s, package %s: %w", clean(g.ID), clean(p.Name), err)
			}
		}
	}
	for _, g := range groups {
		for _, r := range g.Groups {
			var typ any
			if r.Type != "" {
				typ = r.Type
			}
			opts := map[string]any{"type": typ, "is_metapkg": r.IsMetapkg}
			fmt.Fprintf(env.Stdout, "Group requirement: %s -> %s: {%s}\n", clean(g.ID), clean(r.Name), pyDict(opts))
			kw := kojiclient.Kw{"force": forceArg, "type": typ, "is_metapkg": r.IsMetapkg}
			if _, err := s.call(ctx, "groupReqListAdd", tag, g.ID, r.Name, kw); err != nil {
				return fmt.Errorf("group %s, requirement on %s: %w", clean(g.ID), clean(r.Name), err)
			}
		}
	}
	return nil
}

// readCompsFile reads and parses a comps file (comps.Read bounds it).
func readCompsFile(name string) ([]comps.Group, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, usageErr("%s is not a regular file", clean(name))
	} else if st.Size() > comps.MaxSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", clean(name), comps.ErrTooLarge, st.Size(), comps.MaxSize)
	}
	groups, err := comps.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", clean(name), err)
	}
	return groups, nil
}

func optText(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// pyDict renders a map's items as Python prints a dict's (keys sorted):
// 'k': repr(v), ...
func pyDict(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "'" + k + "': " + pyReprValue(m[k])
	}
	return strings.Join(parts, ", ")
}

// pyReprValue is Python's repr of None, a bool or a string.
func pyReprValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		q := byte('\'')
		if strings.ContainsRune(x, '\'') && !strings.ContainsRune(x, '"') {
			q = '"'
		}
		var b strings.Builder
		b.WriteByte(q)
		for _, r := range x {
			switch {
			case r == '\\' || r == rune(q):
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte(q)
		return clean(b.String())
	}
	return fmt.Sprint(v)
}
