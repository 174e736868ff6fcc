package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"kojigo/internal/pki"
)

// The farm's certificates, in kojictl certs' layout under DIR/pki: the CA,
// hub B's HTTPS certificate (for the root end of the namespace's link, where
// it listens) and a host certificate (NAME.pem, Koji's cert file) for each
// builder that logs in to hub B. Hub A stays on plain HTTP on loopback: the
// floods and kill-hub speak plain HTTP to it, and its builders show the
// password login.
func (f *farm) setupPKI() error {
	f.pki = pki.Dir{Path: filepath.Join(f.dir, "pki"), Force: true}
	if _, err := f.pki.Init(pki.Request{Role: pki.RoleCA, Name: "kojigo chaos CA"}); err != nil {
		return fmt.Errorf("certs init: %w", err)
	}
	w, err := f.pki.Issue(pki.Request{Role: pki.RoleHub, Name: f.ns.rootIP, IPAddresses: []net.IP{net.ParseIP(f.ns.rootIP)}}, "kojihubB")
	if err != nil {
		return fmt.Errorf("certs hub: %w", err)
	}
	f.hubCert, f.hubKey = w.CertFile, w.KeyFile
	for i := range nBuilders {
		if !certBuilder(i) {
			continue
		}
		if err := f.writeHostCert(i, false); err != nil {
			return err
		}
	}
	return nil
}

// certBuilder: builders 2 and 4 (hub B's) log in with a certificate over
// HTTPS, 1 and 3 (hub A's) with a password over plain HTTP on loopback.
func certBuilder(i int) bool { return i%2 == 1 }

func (f *farm) certFile(i int) string {
	return filepath.Join(f.pki.Path, fmt.Sprintf("builder%d.pem", i+1))
}

// writeHostCert replaces builder i's certificate file (certificate and
// key, as kojid's cert names it) with a new one from the farm's CA: valid
// for a year, or, when expired is set, one whose validity ended yesterday.
// The file is replaced atomically, as an operator's mv would.
func (f *farm) writeHostCert(i int, expired bool) error {
	ca, err := f.pki.LoadCA()
	if err != nil {
		return err
	}
	req := pki.Request{Role: pki.RoleHost, Name: fmt.Sprintf("builder%d", i+1), Days: 365}
	if expired {
		now := time.Now()
		req.NotBefore, req.NotAfter = now.Add(-31*24*time.Hour), now.Add(-24*time.Hour)
	}
	kp, err := ca.Issue(req)
	if err != nil {
		return fmt.Errorf("issue builder%d's certificate: %w", i+1, err)
	}
	pem, err := kp.CombinedPEM()
	if err != nil {
		return err
	}
	p := f.certFile(i)
	tmp := p + ".new"
	if err := os.WriteFile(tmp, pem, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
