package tui

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"kojigo/tui/farm"
)

// certInfo is the operator's own certificate, read from the profile's cert
// file.
type certInfo struct {
	path     string
	subject  string
	notAfter time.Time
	err      error
}

// readCert reads the first certificate of a PEM file; a certificate file
// larger than 1 MiB is not one.
func readCert(path string) certInfo {
	ci := certInfo{path: path}
	fi, err := os.Stat(path)
	if err != nil {
		ci.err = err
		return ci
	}
	if fi.Size() > 1<<20 {
		ci.err = fmt.Errorf("%s: %d bytes is too large for a certificate file", path, fi.Size())
		return ci
	}
	data, err := os.ReadFile(path)
	if err != nil {
		ci.err = err
		return ci
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			ci.err = fmt.Errorf("%s: no PEM certificate in the file", path)
			return ci
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			ci.err = fmt.Errorf("%s: %w", path, err)
			return ci
		}
		ci.subject, ci.notAfter = c.Subject.String(), c.NotAfter
		return ci
	}
}

// certsView lists certificate expiries and the hub's refused handshakes
// and logins.
type certsView struct {
	top int
}

func (v *certsView) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	n := 0
	if m.snap != nil {
		n = len(m.snap.Hosts) + len(m.snap.TLS) + 8
	}
	cur := v.top
	if moveCursor(m.keys, k, &cur, n, m.bodyHeight()) {
		v.top = cur
	}
	return nil
}

// certLevel grades an expiry: expired, within 30 days, fine.
func certLevel(t, now time.Time) (string, level) {
	switch d := t.Sub(now); {
	case d < 0:
		return "✗ expired", lvlBad
	case d < 30*24*time.Hour:
		return "! expiring", lvlWarn
	}
	return "✓ valid", lvlOK
}

func (v *certsView) render(m *Model, width, height int) []string {
	st := m.st
	now := m.now()
	var out []string
	out = append(out, st.Section.Render("CERTIFICATES"))
	out = append(out, st.Head.Render(fmt.Sprintf("  %-20s %-12s %-12s %s", "WHO", "STATE", "EXPIRES", "IN")))
	if m.ownCert.path != "" {
		c := m.ownCert
		if c.err != nil {
			out = append(out, st.Bad.Render("  "+cell("you", 20)+" "+cell("✗ unreadable", 12)+" "+clean(c.err.Error())))
		} else {
			word, lvl := certLevel(c.notAfter, now)
			out = append(out, "  "+cell("you ("+clean(m.me.Name)+")", 20)+" "+st.level(lvl).Render(cell(word, 12))+" "+
				cell(c.notAfter.UTC().Format("2006-01-02"), 12)+" "+expiryIn(c.notAfter, now)+"  "+st.Dim.Render(clean(c.path)))
		}
	} else {
		out = append(out, st.Dim.Render("  you: no client certificate in this profile (password or anonymous login)"))
	}
	if m.snap != nil {
		hosts := append([]farm.Host(nil), m.snap.Hosts...)
		sort.Slice(hosts, func(i, j int) bool {
			a, b := hostCert(hosts[i]), hostCert(hosts[j])
			if a.IsZero() != b.IsZero() {
				return b.IsZero()
			}
			if !a.Equal(b) {
				return a.Before(b)
			}
			return hosts[i].Name < hosts[j].Name
		})
		for _, h := range hosts {
			t := hostCert(h)
			if t.IsZero() {
				why := "unknown (no health report)"
				if !m.snap.Has(farm.PartHealth) {
					why = "unavailable on this hub"
				}
				out = append(out, "  "+cell(clean(h.Name), 20)+" "+st.Dim.Render(cell("-", 12)+" "+why))
				continue
			}
			word, lvl := certLevel(t, now)
			out = append(out, "  "+cell(clean(h.Name), 20)+" "+st.level(lvl).Render(cell(word, 12))+" "+cell(t.UTC().Format("2006-01-02"), 12)+" "+expiryIn(t, now))
		}
	}
	out = append(out, "", st.Section.Render("REFUSED HANDSHAKES AND LOGINS"))
	switch {
	case m.snap == nil:
	case !m.snap.Has(farm.PartTLS):
		out = append(out, st.Dim.Render("  unavailable: "+clean(m.snap.Missing[farm.PartTLS])+" (kojigo.getTLSFailures is kojigo's)"))
	case len(m.snap.TLS) == 0:
		out = append(out, st.OK.Render("  none recorded since the hub started"))
	default:
		out = append(out, st.Head.Render(fmt.Sprintf("  %-5s %-18s %-22s %s", "AGE", "PROBLEM", "FROM", "CERTIFICATE")))
		for _, f := range m.snap.TLS {
			cert := f.CommonName
			if !f.NotAfter.IsZero() {
				cert += " · " + expiryWords(f.NotAfter, now)
			}
			out = append(out, fmt.Sprintf("  %-5s %s %s %s", since(now, f.At), st.Bad.Render(cell(clean(f.Problem), 18)), cell(clean(f.Peer), 22), clean(cert)))
			// the diagnosis is the point: it gets whole lines
			for _, l := range strings.Split(ansi.Wrap(clean(f.Message), max(width-8, 20), ""), "\n") {
				out = append(out, "        "+l)
			}
		}
	}
	if v.top > 0 && v.top < len(out) {
		out = out[v.top:]
	}
	if len(out) > height {
		out = out[:height]
	}
	return out
}

func hostCert(h farm.Host) time.Time {
	if h.Health == nil {
		return time.Time{}
	}
	return h.Health.CertNotAfter
}

func expiryIn(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return durationWords(-d) + " ago"
	}
	return durationWords(d)
}
