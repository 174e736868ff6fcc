package ctl

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kojigo/internal/pki"
)

const certsUsage = `usage: kojictl certs COMMAND [NAME] [flags]

Make the certificates of a kojigo (or Koji) farm: one CA, and certificates
from it that fit together. Each command prints the config lines that use
what it wrote.

commands:
  init              make the CA: ca.crt (give to everyone), ca.key (keep)
  hub NAME          the hub's HTTPS certificate; NAME is the host name in
                    the clients' server URL; more names with --san
  host NAME         a builder's certificate; CN = NAME = the name given to
                    'koji add-host'
  user NAME         an operator's certificate; CN = NAME = the Koji user
  kojira [NAME]     kojira's certificate (user "kojira" by default)
  web [NAME]        kojiweb's certificate (CN "kojiweb" by default), server
                    and client in one
  renew FILE        re-issue FILE (.crt or .pem) with the same subject and
                    names, replacing it and its key; renewing ca.crt keeps
                    the CA key, so issued certificates stay valid

Keys are written 0600, certificates 0644, nothing is overwritten without
--force. Clients get NAME.pem (certificate and key in one file, Koji's
'cert' layout) besides NAME.crt and NAME.key.

flags:
`

func runCerts(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "certs")
	home := env.Getenv("HOME")
	defDir := ""
	if home != "" {
		defDir = filepath.Join(home, ".kojigo", "pki")
	}
	if d := env.Getenv("KOJI_PKI_DIR"); d != "" {
		defDir = d
	}
	dir := fs.String("dir", defDir, "certificate directory holding ca.crt and ca.key (env KOJI_PKI_DIR)")
	days := fs.Int("days", 0, fmt.Sprintf("validity in days (default %d for the CA, %d for others)", pki.DefaultCADays, pki.DefaultDays))
	useRSA := fs.Bool("rsa", false, "make an RSA key instead of ECDSA P-256")
	rsaBits := fs.Int("rsa-bits", pki.DefaultRSABits, "RSA key size with --rsa")
	force := fs.Bool("force", false, "replace existing files")
	server := fs.String("server", "", "hub URL to print in client configs (default: from the hub certificate in --dir)")
	var sans stringList
	fs.Var(&sans, "san", "extra DNS name or IP address for hub and web certificates (repeat or comma-separate)")
	fs.Usage = func() {
		io.WriteString(env.Stderr, certsUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageErr("certs needs a command: init, hub, host, user, kojira, web or renew")
	}
	if *dir == "" {
		return usageErr("no --dir and no HOME to default to ~/.kojigo/pki")
	}
	if *days < 0 {
		return usageErr("--days %d: want a positive number", *days)
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	d := pki.Dir{Path: absDir, Force: *force}
	req := pki.Request{Days: *days}
	if *useRSA {
		req.Key = pki.KeyOptions{Algorithm: pki.KeyRSA, RSABits: *rsaBits}
	}
	if err := sans.into(&req); err != nil {
		return err
	}
	cmd, rest := pos[0], pos[1:]
	name := func(def string) (string, error) {
		switch {
		case len(rest) == 0 && def != "":
			return def, nil
		case len(rest) == 0:
			return "", usageErr("certs %s needs a NAME", cmd)
		case len(rest) > 1:
			return "", usageErr("certs %s: unexpected argument %q", cmd, rest[1])
		}
		if err := pki.ValidateName(rest[0]); err != nil {
			return "", usageErr("certs %s: %v", cmd, err)
		}
		return rest[0], nil
	}
	if len(req.DNSNames)+len(req.IPAddresses) > 0 && cmd != "hub" && cmd != "web" {
		return usageErr("--san is for hub and web certificates only")
	}
	out := env.Stdout
	var w *pki.Written
	switch cmd {
	case "init":
		if len(rest) > 0 {
			return usageErr("certs init: unexpected argument %q", rest[0])
		}
		if w, err = d.Init(req); err != nil {
			return fmt.Errorf("certs init: %w", err)
		}
		// The next commands must find this CA: name --dir in them unless
		// it is where they look anyway.
		dirFlag := ""
		if def, err := filepath.Abs(defDir); defDir == "" || err != nil || def != absDir {
			dirFlag = "--dir " + shellQuote(absDir)
		}
		printWritten(out, w)
		printInit(out, w, dirFlag)
		return nil
	case "hub":
		if req.Name, err = name(""); err != nil {
			return err
		}
		req.Role = pki.RoleHub
		if w, err = d.Issue(req, ""); err != nil {
			return fmt.Errorf("certs hub: %w", err)
		}
	case "host", "user":
		if req.Name, err = name(""); err != nil {
			return err
		}
		req.Role = pki.Role(cmd)
		if w, err = d.Issue(req, ""); err != nil {
			return fmt.Errorf("certs %s: %w", cmd, err)
		}
	case "kojira", "web":
		def := "kojira"
		if cmd == "web" {
			def = "kojiweb"
		}
		if req.Name, err = name(def); err != nil {
			return err
		}
		req.Role = pki.Role(cmd)
		if w, err = d.Issue(req, ""); err != nil {
			return fmt.Errorf("certs %s: %w", cmd, err)
		}
	case "renew":
		if len(rest) != 1 {
			return usageErr("certs renew needs exactly one FILE (a .crt or .pem)")
		}
		if w, err = d.Renew(rest[0], *days); err != nil {
			return fmt.Errorf("certs renew: %w", err)
		}
		printWritten(out, w)
		if w.Role == pki.RoleCA {
			fmt.Fprintf(out, "\nThe CA keeps its key: certificates it issued stay valid. Copy %s again to every hub and client that trusts it (serverca, TLSClientCA).\n", w.CertFile)
		} else {
			fmt.Fprintf(out, "\nInstall the new files where the old ones were and restart the daemon that uses them; its config lines do not change.\n")
		}
		return nil
	default:
		fs.Usage()
		return usageErr("unknown certs command %q: want init, hub, host, user, kojira, web or renew", cmd)
	}
	printWritten(out, w)
	printConfig(out, w, hubURL(absDir, *server))
	return nil
}

// parseInterspersed parses flags that may come before, between and after
// positional arguments ("hub NAME --san x"), and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// stringList is a repeatable, comma-separable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*s = append(*s, x)
		}
	}
	return nil
}

func (s stringList) into(req *pki.Request) error {
	for _, x := range s {
		if ip := net.ParseIP(x); ip != nil {
			req.IPAddresses = append(req.IPAddresses, ip)
			continue
		}
		req.DNSNames = append(req.DNSNames, x)
	}
	return nil
}

func printWritten(w io.Writer, wr *pki.Written) {
	c := wr.Pair.Cert
	what := string(wr.Role) + " certificate"
	if wr.Role == pki.RoleCA {
		what = "CA"
	}
	fmt.Fprintf(w, "%s %s, valid until %s", what, c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly))
	if names := sanList(c); names != "" && wr.Role.IsServer() {
		fmt.Fprintf(w, ", for %s", names)
	}
	fmt.Fprintln(w)
	row := func(path, mode, what string) {
		if path != "" {
			fmt.Fprintf(w, "  %s  %s  %s\n", mode, path, what)
		}
	}
	if wr.Role == pki.RoleCA {
		row(wr.CertFile, "0644", "CA certificate: give it to every hub and client")
		row(wr.KeyFile, "0600", "CA key: keep it here, never copy it")
		return
	}
	row(wr.CertFile, "0644", "certificate")
	row(wr.KeyFile, "0600", "private key")
	row(wr.PEMFile, "0600", "certificate and key in one file (Koji's cert setting)")
}

func sanList(c *x509.Certificate) string {
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	return strings.Join(n, ", ")
}

// printInit prints the config lines that trust the new CA and the next
// command; dirFlag, when set, is the --dir the next commands need.
func printInit(w io.Writer, wr *pki.Written, dirFlag string) {
	next := "kojictl certs hub HUBNAME [--san NAME ...], then host, user, kojira, web"
	if dirFlag != "" {
		next = "kojictl certs hub HUBNAME " + dirFlag + " [--san NAME ...], then host, user, kojira, web, each with " + dirFlag
	}
	fmt.Fprintf(w, `
# hub.conf: accept client certificates from this CA
[hub]
TLSClientCA = %[1]s

# kojid.conf [kojid], kojira.conf [kojira], ~/.koji/config [koji]:
# trust hub certificates from this CA
serverca = %[1]s

next: %[2]s
`, wr.CertFile, next)
}

func printConfig(w io.Writer, wr *pki.Written, server string) {
	name := wr.Pair.Cert.Subject.CommonName
	switch wr.Role {
	case pki.RoleHub:
		fmt.Fprintf(w, `
# hub.conf
[hub]
TLSCert = %s
TLSKey = %s
TLSClientCA = %s

# clients (kojid.conf, kojira.conf, ~/.koji/config) reach this hub with:
server = https://%s/kojihub
serverca = %s
`, wr.CertFile, wr.KeyFile, wr.CAFile, hostForURL(name), wr.CAFile)
	case pki.RoleHost:
		fmt.Fprintf(w, `
# /etc/kojid/kojid.conf on %[1]s (copy %[2]s there, mode 0600, owned by kojid's user)
[kojid]
server = %[3]s
cert = %[2]s
serverca = %[4]s

# register it on the hub under the same name (the hub takes it from the CN):
#   koji add-host %[1]s ARCH [ARCH ...]
`, name, wr.PEMFile, server, wr.CAFile)
	case pki.RoleUser:
		fmt.Fprintf(w, `
# ~/.koji/config of %[1]s (copy %[2]s there, mode 0600)
[koji]
server = %[3]s
authtype = ssl
cert = %[2]s
serverca = %[4]s
`, name, wr.PEMFile, server, wr.CAFile)
	case pki.RoleKojira:
		fmt.Fprintf(w, `
# /etc/kojira/kojira.conf
[kojira]
server = %[2]s
cert = %[1]s
serverca = %[3]s

# kojira's user needs the repo permission:
#   koji grant-permission repo %[4]s
`, wr.PEMFile, server, wr.CAFile, name)
	case pki.RoleWeb:
		fmt.Fprintf(w, `
# /etc/kojiweb/web.conf
[web]
WebCert = %[1]s
KojiHubCA = %[2]s

# hub.conf [hub]: let kojiweb log users in through its certificate
ProxyDNs = %[3]s
`, wr.PEMFile, wr.CAFile, wr.Pair.Cert.Subject.String())
	}
}

// hubURL is the server URL to print: --server, else the one hub certificate
// in dir, else a placeholder.
func hubURL(dir, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "https://HUB.EXAMPLE.COM/kojihub"
	}
	var hubs []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".crt") || e.Name() == pki.CACertFile {
			continue
		}
		b, err := pki.ReadBundle(filepath.Join(dir, e.Name()), "certificate")
		if err != nil || len(b.Certs) == 0 {
			continue
		}
		c := b.Certs[0]
		server, client := false, false
		for _, u := range c.ExtKeyUsage {
			server = server || u == x509.ExtKeyUsageServerAuth
			client = client || u == x509.ExtKeyUsageClientAuth
		}
		if server && !client {
			hubs = append(hubs, c.Subject.CommonName)
		}
	}
	if len(hubs) != 1 {
		return "https://HUB.EXAMPLE.COM/kojihub"
	}
	return "https://" + hostForURL(hubs[0]) + "/kojihub"
}

func hostForURL(name string) string {
	if ip := net.ParseIP(name); ip != nil && ip.To4() == nil {
		return "[" + name + "]"
	}
	return name
}
