package comps

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of Read.
const (
	// MaxSize bounds a comps.xml (Fedora's, with every translation, is
	// under 8 MiB).
	MaxSize = 32 << 20
	// maxDepth bounds element nesting (comps needs 5).
	maxDepth = 32
	// maxText bounds the text of one element.
	maxText = 64 << 10
	// maxGroups and maxEntries bound what a file may declare (Fedora's has
	// some 600 groups and 10000 entries).
	maxGroups  = 20000
	maxEntries = 500000
)

// Errors of Read, for errors.Is.
var (
	ErrTooLarge = errors.New("comps file too large")
	ErrEntity   = errors.New("comps file declares entities")
)

// xmlNS is the namespace encoding/xml gives the xml: prefix.
const xmlNS = "http://www.w3.org/XML/1998/namespace"

// Read parses a comps.xml into its groups, in file order, as `koji
// import-comps` reads them through libcomps: a packagereq without a type is
// mandatory and one of an unknown type is "unknown"; a group without
// <default> is not default, one without <uservisible> is user-visible.
// Errors name the line.
func Read(r io.Reader) ([]Group, error) {
	lr := &limitReader{r: r, left: MaxSize}
	d := xml.NewDecoder(lr)
	d.Strict = true
	p := parser{d: d}
	if err := p.run(); err != nil {
		if lr.over {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxSize)
		}
		return nil, err
	}
	return p.groups, nil
}

// limitReader fails, rather than ends, past its limit.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.left <= 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	return n, err
}

type parser struct {
	d      *xml.Decoder
	path   []string
	groups []Group
	g      *Group // the group being read
	buf    strings.Builder
	// onEnd, when set, takes the text of the element at depth onEndAt.
	onEnd   func(string) error
	onEndAt int
	entries int // packagereqs and groupreqs read
}

func (p *parser) errorf(format string, args ...any) error {
	line, _ := p.d.InputPos()
	return fmt.Errorf("comps line %d: %s", line, fmt.Sprintf(format, args...))
}

func (p *parser) run() error {
	sawRoot := false
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			if !sawRoot {
				return p.errorf("no <comps> element")
			}
			return nil
		}
		if err != nil {
			return p.errorf("%v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if strings.Contains(string(t), "ENTITY") {
				return fmt.Errorf("%w: <!ENTITY> is not allowed in a comps file", ErrEntity)
			}
		case xml.StartElement:
			if len(p.path) == 0 {
				if sawRoot || t.Name.Local != "comps" {
					return p.errorf("not a comps file: root element <%s>", t.Name.Local)
				}
				sawRoot = true
			}
			p.path = append(p.path, t.Name.Local)
			p.onEndAt = len(p.path)
			if len(p.path) > maxDepth {
				return p.errorf("elements nested deeper than %d", maxDepth)
			}
			if p.onEnd != nil {
				return p.errorf("<%s> inside <%s>", t.Name.Local, p.path[len(p.path)-2])
			}
			if err := p.start(t); err != nil {
				return err
			}
		case xml.CharData:
			if p.onEnd != nil {
				if p.buf.Len()+len(t) > maxText {
					return p.errorf("<%s> longer than %d bytes", p.path[len(p.path)-1], maxText)
				}
				p.buf.Write(t)
			}
		case xml.EndElement:
			if p.onEnd != nil && len(p.path) == p.onEndAt {
				set := p.onEnd
				p.onEnd = nil
				if err := set(strings.TrimSpace(p.buf.String())); err != nil {
					return err
				}
				p.buf.Reset()
			}
			if len(p.path) == 2 && p.path[1] == "group" {
				if p.g.ID == "" {
					return p.errorf("a group has no <id>")
				}
				p.groups = append(p.groups, *p.g)
				p.g = nil
			}
			p.path = p.path[:len(p.path)-1]
		}
	}
}

// at reports whether the element just opened is at path under <comps>.
func (p *parser) at(path ...string) bool {
	if len(p.path) != len(path)+1 {
		return false
	}
	for i, e := range path {
		if p.path[i+1] != e {
			return false
		}
	}
	return true
}

func attrOf(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func hasLang(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if (a.Name.Space == xmlNS || a.Name.Space == "xml") && a.Name.Local == "lang" {
			return true
		}
	}
	return false
}

// optText is libcomps' reading of an optional element: empty is absent.
func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

var packageTypes = map[string]bool{"mandatory": true, "default": true, "optional": true, "conditional": true}

func (p *parser) start(t xml.StartElement) error {
	switch {
	case p.at("group"):
		if len(p.groups) >= maxGroups {
			return p.errorf("more than %d groups", maxGroups)
		}
		p.g = &Group{UserVisible: true}
	case p.g == nil:
		// categories, environments, langpacks: not Koji's business
	case p.at("group", "id"):
		p.onEnd = func(s string) error { p.g.ID = s; return nil }
	case p.at("group", "name"):
		if !hasLang(t) {
			p.onEnd = func(s string) error { p.g.Name = s; return nil }
		}
	case p.at("group", "description"):
		if !hasLang(t) {
			p.onEnd = func(s string) error { p.g.Description = optText(s); return nil }
		}
	case p.at("group", "langonly"):
		p.onEnd = func(s string) error { p.g.LangOnly = optText(s); return nil }
	case p.at("group", "default"):
		p.onEnd = func(s string) error { p.g.Default = s == "true"; return nil }
	case p.at("group", "uservisible"):
		p.onEnd = func(s string) error { p.g.UserVisible = s == "true"; return nil }
	case p.at("group", "biarchonly"):
		p.onEnd = func(s string) error { p.g.BiarchOnly = s == "true"; return nil }
	case p.at("group", "packagelist", "packagereq"), p.at("group", "grouplist", "groupreq"), p.at("group", "grouplist", "metapkg"):
		if p.entries++; p.entries > maxEntries {
			return p.errorf("more than %d packagereq and groupreq entries", maxEntries)
		}
		p.startEntry(t)
	}
	return nil
}

func (p *parser) startEntry(t xml.StartElement) {
	switch t.Name.Local {
	case "packagereq":
		pkg := Package{Type: "mandatory"}
		if v, ok := attrOf(t, "type"); ok {
			pkg.Type = v
			if !packageTypes[v] {
				pkg.Type = "unknown"
			}
		}
		if v, _ := attrOf(t, "basearchonly"); v == "true" {
			pkg.BasearchOnly = true
		}
		pkg.Requires, _ = attrOf(t, "requires")
		p.onEnd = func(s string) error {
			if s == "" {
				return p.errorf("group %s: a packagereq has no package name", p.g.ID)
			}
			pkg.Name = s
			p.g.Packages = append(p.g.Packages, pkg)
			return nil
		}
	default:
		req := GroupReq{IsMetapkg: t.Name.Local == "metapkg"}
		req.Type, _ = attrOf(t, "type")
		p.onEnd = func(s string) error {
			if s == "" {
				return p.errorf("group %s: a %s has no group name", p.g.ID, t.Name.Local)
			}
			req.Name = s
			p.g.Groups = append(p.g.Groups, req)
			return nil
		}
	}
}
