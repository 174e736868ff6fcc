package hubcore

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// fakeSigPacket is an OpenPGP v4 signature packet naming key ID
// 0102030400000000+keyTail as its issuer; it is not a valid signature, but
// the hub does not verify signatures (Koji does not either).
func fakeSigPacket(keyTail [4]byte) []byte {
	body := []byte{4, 0, 1, 8, 0, 0, 0, 10, 9, 16, 1, 2, 3, 4}
	body = append(body, keyTail[:]...)
	body = append(body, 0xab, 0xcd, 0, 8, 0xff)
	return append([]byte{0xc2, byte(len(body))}, body...)
}

// sigHeaderFor is a signature header for the package pkg as rpmsign makes
// one: digests of its main header (and of main header and payload), and a
// signature packet of the key ending in keyTail (none when nil).
func sigHeaderFor(t *testing.T, pkg []byte, keyTail *[4]byte) []byte {
	t.Helper()
	p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	main := pkg[p.HeaderStart:p.HeaderEnd]
	s1, s256, m5 := sha1.Sum(main), sha256.Sum256(main), md5.Sum(pkg[p.HeaderStart:])
	es := []rpmhdr.Entry{
		rpmhdr.StringEntry(rpmhdr.SigTagSHA1, hex.EncodeToString(s1[:])),
		rpmhdr.StringEntry(rpmhdr.SigTagSHA256, hex.EncodeToString(s256[:])),
		rpmhdr.BinEntry(rpmhdr.SigTagMD5, m5[:]),
		rpmhdr.Int32Entry(rpmhdr.SigTagSize, uint32(len(pkg)-int(p.HeaderStart))),
	}
	if keyTail != nil {
		es = append(es, rpmhdr.BinEntry(rpmhdr.SigTagRSA, fakeSigPacket(*keyTail)))
	}
	h := rpmhdr.EncodeHeader(es)
	for len(h)%8 != 0 {
		h = append(h, 0)
	}
	return h
}

// importFoo imports foo-1.0-1 (source and x86_64) and returns the binary
// package's bytes and rpm id.
func importFoo(t *testing.T, th *testHub, admin *client) ([]byte, int64) {
	t.Helper()
	srpm := rpmBytes(t, "foo", "1.0", "1", "x86_64", "")
	bin := rpmBytes(t, "foo", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm")
	admin.must("importRPM", admin.upload(t, "sig-import/1", "foo-1.0-1.src.rpm", srpm), "foo-1.0-1.src.rpm")
	info := admin.must("importRPM", admin.upload(t, "sig-import/2", "foo-1.0-1.x86_64.rpm", bin), "foo-1.0-1.x86_64.rpm").(map[string]any)
	rpmID := info["id"].(int64)
	// importRPM recorded each package's own (unsigned) header, as Koji's
	// add_rpm_sig(rip_rpm_sighdr); cleared here so that the tests see
	// only the signatures they add.
	own := th.anon().must("queryRPMSigs", rpmID).([]any)
	if len(own) != 1 || own[0].(map[string]any)["sigkey"] != "" {
		t.Fatalf("signatures after importRPM = %v, want the unsigned header", own)
	}
	if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "packages/foo/1.0/1/data/sigcache/x86_64/foo-1.0-1.x86_64.rpm.sig")); err != nil {
		t.Errorf("importRPM's header file: %v", err)
	}
	admin.must("deleteRPMSig", rpmID, kw{"all_sigs": true})
	admin.must("deleteRPMSig", "foo-1.0-1.src", kw{"all_sigs": true})
	return bin, rpmID
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestRPMSignatures(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		top := th.hub.cfg.TopDir
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("signer", "pw", "sign")
		signer := th.login("signer", "pw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		bin, rpmID := importFoo(t, th, admin)
		key := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
		hdr := sigHeaderFor(t, bin, &key)

		th.anon().fault(kojixml.AuthError, "addRPMSig", rpmID, b64(hdr))
		alice.fault(kojixml.ActionNotAllowed, "addRPMSig", rpmID, b64(hdr))
		if got := signer.must("addRPMSig", rpmID, b64(hdr)); got != nil {
			t.Errorf("addRPMSig = %v, want None", got)
		}
		sigFile := filepath.Join(top, "packages/foo/1.0/1/data/sigcache/deadbeef/x86_64/foo-1.0-1.x86_64.rpm.sig")
		if got, err := os.ReadFile(sigFile); err != nil || !bytes.Equal(got, hdr) {
			t.Fatalf("sigcache file %s: %v", sigFile, err)
		}
		sum := md5.Sum(hdr)
		want := map[string]any{"rpm_id": rpmID, "sigkey": "deadbeef", "sighash": hex.EncodeToString(sum[:])}
		for _, args := range [][]any{
			{},
			{rpmID},
			{"foo-1.0-1.x86_64"},
			{map[string]any{"name": "foo", "version": "1.0", "release": "1", "arch": "x86_64"}},
			{kw{"rpm_id": rpmID, "sigkey": "DEADBEEF"}},
			{nil, "deadbeef"},
		} {
			got := th.anon().must("queryRPMSigs", args...).([]any)
			if len(got) != 1 || !equalMaps(got[0].(map[string]any), want) {
				t.Errorf("queryRPMSigs%v = %v, want [%v]", args, got, want)
			}
		}
		for _, args := range [][]any{{"nosuch-1-1.noarch"}, {rpmID + 100}, {nil, "cafef00d"}, {nil, "../../etc"}} {
			if got := th.anon().must("queryRPMSigs", args...).([]any); len(got) != 0 {
				t.Errorf("queryRPMSigs%v = %v, want []", args, got)
			}
		}
		if got := th.anon().must("queryRPMSigs", kw{"queryOpts": map[string]any{"countOnly": true}}); got != int64(1) {
			t.Errorf("queryRPMSigs(countOnly) = %v", got)
		}
		th.anon().fault(kojixml.ParameterError, "queryRPMSigs", nil, int64(3))
		th.anon().fault(kojixml.ParameterError, "queryRPMSigs", nil, nil, nil, "extra")

		// The same header again; the same key with another header.
		if f := signer.fault(kojixml.GenericError, "addRPMSig", rpmID, b64(hdr)); f.String != "Signature already exists for package foo-1.0-1.x86_64, key deadbeef" {
			t.Errorf("duplicate addRPMSig = %q", f.String)
		}
		// An unsigned header is stored under sigkey "" (XML-RPC base64 works too).
		signer.must("addRPMSig", "foo-1.0-1.x86_64", sigHeaderFor(t, bin, nil))

		// Headers that are not this RPM's, or not headers at all.
		other := rpmBytes(t, "foo", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm", strings.Repeat("0", 64))
		badMagic := bytes.Clone(hdr)
		badMagic[0] = 'X'
		overIndex := bytes.Clone(hdr)
		overIndex[11] = 0xff
		for _, tc := range []struct {
			name string
			data any
			want string
		}{
			{"another package", b64(sigHeaderFor(t, other, &key)), "wrong md5 for foo-1.0-1.x86_64"},
			{"bad magic", b64(badMagic), "Invalid rpm signature header"},
			{"index past data", b64(overIndex), "Invalid rpm signature header"},
			{"truncated", b64(hdr[:len(hdr)/2]), "Invalid rpm signature header"},
			{"trailing junk", b64(append(bytes.Clone(hdr), "junkjunk"...)), "Invalid rpm signature header"},
			{"whole rpm", b64(bin), "Invalid rpm signature header"},
			{"no digests", b64(rpmhdr.EncodeHeader([]rpmhdr.Entry{rpmhdr.BinEntry(rpmhdr.SigTagRSA, fakeSigPacket(key))})), "carries no digest"},
			{"bad packet", b64(rpmhdr.EncodeHeader([]rpmhdr.Entry{rpmhdr.BinEntry(rpmhdr.SigTagRSA, []byte("not a packet"))})), "Invalid rpm signature header"},
		} {
			if f := signer.fault(kojixml.GenericError, "addRPMSig", rpmID, tc.data); !strings.Contains(f.String, tc.want) {
				t.Errorf("addRPMSig(%s) = %q, want %q", tc.name, f.String, tc.want)
			}
		}
		for _, args := range [][]any{
			{},
			{rpmID},
			{rpmID, "not base64!!"},
			{rpmID, int64(5)},
			{rpmID, strings.Repeat("A", 2<<20)},
			{3.5, b64(hdr)},
			{rpmID, b64(hdr), "extra"},
		} {
			signer.fault(kojixml.ParameterError, "addRPMSig", args...)
		}
		if f := signer.fault(kojixml.GenericError, "addRPMSig", "nosuch-1-1.x86_64", b64(hdr)); f.String != "No such rpm: 'nosuch-1-1.x86_64'" {
			t.Errorf("addRPMSig(unknown rpm) = %q", f.String)
		}
		if got := th.anon().must("queryRPMSigs", rpmID).([]any); len(got) != 2 {
			t.Errorf("after refused imports: %v", got)
		}

		// writeSignedRPM: the stored RPM with the header spliced in.
		alice.fault(kojixml.ActionNotAllowed, "writeSignedRPM", rpmID, "deadbeef")
		if got := signer.must("writeSignedRPM", rpmID, "DeadBeef"); got != nil {
			t.Errorf("writeSignedRPM = %v", got)
		}
		signedFile := filepath.Join(top, "packages/foo/1.0/1/data/signed/deadbeef/x86_64/foo-1.0-1.x86_64.rpm")
		signed, err := os.ReadFile(signedFile)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(bin), int64(len(bin)))
		if !bytes.Equal(signed[:96], bin[:96]) || !bytes.Equal(signed[96:96+len(hdr)], hdr) || !bytes.Equal(signed[96+len(hdr):], bin[p.HeaderStart:]) {
			t.Errorf("signed copy is not lead + header + the original main header and payload")
		}
		s256 := sha256.Sum256(signed)
		sums := th.anon().must("getRPMChecksums", rpmID).(map[string]any)
		if dk, _ := sums["deadbeef"].(map[string]any); dk["sha256"] != hex.EncodeToString(s256[:]) || len(dk["md5"].(string)) != 32 {
			t.Errorf("getRPMChecksums = %v", sums)
		}
		// An existing copy stays unless force.
		os.WriteFile(signedFile, []byte("stale"), 0o644)
		signer.must("writeSignedRPM", rpmID, "deadbeef")
		if got, _ := os.ReadFile(signedFile); string(got) != "stale" {
			t.Errorf("writeSignedRPM without force rewrote the copy")
		}
		signer.must("writeSignedRPM", rpmID, "deadbeef", kw{"force": true})
		if got, _ := os.ReadFile(signedFile); !bytes.Equal(got, signed) {
			t.Errorf("writeSignedRPM(force) did not rewrite the copy")
		}
		for _, key := range []string{"cafef00d", "../../../etc", "dead/beef"} {
			if f := signer.fault(kojixml.GenericError, "writeSignedRPM", rpmID, key); !strings.HasPrefix(f.String, "No cached signature for package foo-1.0-1.x86_64, key ") {
				t.Errorf("writeSignedRPM(%q) = %q", key, f.String)
			}
		}
		signer.fault(kojixml.ParameterError, "writeSignedRPM", rpmID)
		signer.fault(kojixml.ParameterError, "writeSignedRPM", rpmID, int64(1))
		signer.fault(kojixml.GenericError, "writeSignedRPM", "nosuch-1-1.x86_64", "deadbeef")
		th.anon().fault(kojixml.GenericError, "getRPMChecksums", "foo-1.0-1.x86_64")
		th.anon().fault(kojixml.GenericError, "getRPMChecksums", rpmID, []any{"crc"})

		// A tampered header file is refused.
		os.WriteFile(sigFile, append(bytes.Clone(hdr[:len(hdr)-1]), 1), 0o644)
		if f := signer.fault(kojixml.GenericError, "writeSignedRPM", rpmID, "deadbeef", kw{"force": true}); !strings.Contains(f.String, "does not match its record") {
			t.Errorf("tampered header = %q", f.String)
		}
		os.WriteFile(sigFile, hdr, 0o644)

		// deleteRPMSig: admin only; removes the copy, keeps the header as .save.
		signer.fault(kojixml.ActionNotAllowed, "deleteRPMSig", rpmID, "deadbeef")
		if f := admin.fault(kojixml.GenericError, "deleteRPMSig", rpmID); f.String != "No signature specified" {
			t.Errorf("deleteRPMSig without key = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "deleteRPMSig", rpmID, "cafef00d"); f.String != "foo-1.0-1.x86_64 has no matching signatures to delete" {
			t.Errorf("deleteRPMSig(other key) = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "deleteRPMSig", rpmID, "../x")
		admin.fault(kojixml.ParameterError, "deleteRPMSig", rpmID, int64(1))
		admin.must("deleteRPMSig", rpmID, "deadbeef")
		if _, err := os.Stat(signedFile); !os.IsNotExist(err) {
			t.Errorf("signed copy left after deleteRPMSig: %v", err)
		}
		if _, err := os.Stat(sigFile + "." + hex.EncodeToString(sum[:]) + ".save"); err != nil {
			t.Errorf("header not saved: %v", err)
		}
		if got := th.anon().must("queryRPMSigs", rpmID).([]any); len(got) != 1 || got[0].(map[string]any)["sigkey"] != "" {
			t.Errorf("after delete: %v", got)
		}
		// The key can be imported again; all_sigs removes everything.
		signer.must("addRPMSig", rpmID, b64(hdr))
		admin.must("deleteRPMSig", "foo-1.0-1.x86_64", kw{"all_sigs": true})
		if got := th.anon().must("queryRPMSigs", rpmID).([]any); len(got) != 0 {
			t.Errorf("after delete all: %v", got)
		}
		if f := admin.fault(kojixml.GenericError, "deleteRPMSig", rpmID, kw{"all_sigs": true}); !strings.Contains(f.String, "no matching signatures") {
			t.Errorf("delete all again = %q", f.String)
		}
	})
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
