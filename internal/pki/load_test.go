package pki_test

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// oneSentence fails the test unless msg reads as one sentence.
func oneSentence(t testing.TB, what, msg string) {
	t.Helper()
	switch {
	case msg == "":
		t.Errorf("%s: empty message", what)
	case strings.ContainsAny(msg, "\n\r"):
		t.Errorf("%s: message spans lines: %q", what, msg)
	case strings.Contains(msg, ". "):
		t.Errorf("%s: message has more than one sentence: %q", what, msg)
	case len(msg) > 700:
		t.Errorf("%s: message is %d bytes long: %q", what, len(msg), msg)
	}
}

func problemOf(err error) pki.Problem {
	var pe *pki.Error
	if errors.As(err, &pe) {
		return pe.Problem
	}
	return "(not a *pki.Error)"
}

func TestReadBundleHostile(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	good := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	dir := t.TempDir()
	certPEM, _ := os.ReadFile(good.Cert)
	block, _ := pem.Decode(certPEM)
	lines := strings.Split(string(certPEM), "\n")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		pkitest.WriteFile(t, p, data, 0o644)
		return p
	}
	huge := filepath.Join(dir, "huge")
	hf, _ := os.Create(huge)
	hf.Truncate(pki.MaxFileSize + 1) // sparse: costs no disk
	hf.Close()
	justOver := write("justover", append(certPEM, make([]byte, pki.MaxFileSize)...))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop")
	os.Symlink(loop, loop)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "gone.crt"), dangling)
	link := filepath.Join(dir, "link.crt")
	os.Symlink(good.Cert, link)
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	garbage[0] = 0x42 // not a DER SEQUENCE

	legacy := &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte("xxxxxxxxxxxxxxxx")}
	tests := []struct {
		name string
		path string
		want pki.Problem // ProblemNone: loads
	}{
		{"good", good.Cert, pki.ProblemNone},
		{"symlink to good", link, pki.ProblemNone},
		{"combined", good.PEM, pki.ProblemNone},
		{"no path", "", pki.ProblemMissing},
		{"missing", filepath.Join(dir, "nope.crt"), pki.ProblemMissing},
		{"under a file", filepath.Join(good.Cert, "x.crt"), pki.ProblemMissing},
		{"dangling symlink", dangling, pki.ProblemMissing},
		{"symlink loop", loop, pki.ProblemNotAFile},
		{"directory", dir, pki.ProblemNotAFile},
		{"fifo", fifo, pki.ProblemNotAFile},
		{"device", "/dev/null", pki.ProblemNotAFile},
		{"huge", huge, pki.ProblemTooLarge},
		{"just over the limit", justOver, pki.ProblemTooLarge},
		{"empty", write("empty", nil), pki.ProblemNotPEM},
		{"blank", write("blank", []byte("\n \n\t\n")), pki.ProblemNotPEM},
		{"text", write("text", []byte("hello, this is not a certificate\n")), pki.ProblemNotPEM},
		{"binary garbage", write("garbage", garbage), pki.ProblemNotPEM},
		{"DER", write("der", block.Bytes), pki.ProblemNotPEM},
		{"cut in half", write("half", certPEM[:len(certPEM)/2]), pki.ProblemTruncated},
		{"no END line", write("noend", certPEM[:len(certPEM)-30]), pki.ProblemTruncated},
		{"second block cut", write("second", append(append([]byte{}, certPEM...), certPEM[:100]...)), pki.ProblemTruncated},
		{"cut block then good block", write("cutfirst", append(append([]byte{}, certPEM[:200]...), certPEM...)), pki.ProblemTruncated},
		{"line missing", write("linemissing", []byte(strings.Join(append(append([]string{}, lines[:3]...), lines[4:]...), "\n"))), pki.ProblemCorrupt},
		{"BEGIN only", write("beginonly", []byte("-----BEGIN CERTIFICATE-----\n")), pki.ProblemTruncated},
		{"bad base64", write("badb64", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")), pki.ProblemTruncated},
		{"cert block of junk", write("junkcert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})), pki.ProblemCorrupt},
		{"key block of junk", write("junkkey", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})), pki.ProblemCorrupt},
		{"encrypted pkcs8", write("enc8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("junk")})), pki.ProblemEncryptedKey},
		{"encrypted legacy", write("encold", pem.EncodeToMemory(legacy)), pki.ProblemEncryptedKey},
		{"openssh key", write("ssh", pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("x")})), pki.ProblemWrongType},
		{"csr", write("csr", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("x")})), pki.ProblemWrongType},
		{"public key", write("pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")})), pki.ProblemWrongType},
	}
	keyPEM, _ := os.ReadFile(good.Key)
	tests = append(tests, struct {
		name string
		path string
		want pki.Problem
	}{"two keys", write("twokeys", append(append([]byte{}, keyPEM...), keyPEM...)), pki.ProblemWrongType})
	for _, tc := range tests {
		b, err := pki.ReadBundle(tc.path, "certificate")
		if tc.want == pki.ProblemNone {
			if err != nil || len(b.Certs) == 0 {
				t.Errorf("ReadBundle(%s) = %v, want a certificate", tc.name, err)
			}
			continue
		}
		if got := problemOf(err); got != tc.want {
			t.Errorf("ReadBundle(%s) problem = %q (%v), want %q", tc.name, got, err, tc.want)
			continue
		}
		oneSentence(t, tc.name, err.Error())
		if tc.path != "" && !strings.Contains(err.Error(), tc.path) {
			t.Errorf("ReadBundle(%s) = %q, want the path in it", tc.name, err)
		}
	}
}

func TestLoadKeyPair(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	a := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	b := f.Issue("bob", pki.Request{Role: pki.RoleUser, Name: "bob"})
	tests := []struct {
		name      string
		cert, key string
		want      pki.Problem
	}{
		{"separate", a.Cert, a.Key, pki.ProblemNone},
		{"combined", a.PEM, "", pki.ProblemNone},
		{"combined named twice", a.PEM, a.PEM, pki.ProblemNone},
		{"combined with its own key file", a.PEM, a.Key, pki.ProblemNone},
		{"wrong key", a.Cert, b.Key, pki.ProblemKeyMismatch},
		{"combined with wrong key file", a.PEM, b.Key, pki.ProblemKeyMismatch},
		{"cert without key", a.Cert, "", pki.ProblemWrongType},
		{"key as cert", a.Key, "", pki.ProblemWrongType},
		{"cert as key", a.Cert, b.Cert, pki.ProblemWrongType},
		{"missing key", a.Cert, a.Key + ".gone", pki.ProblemMissing},
	}
	for _, tc := range tests {
		kp, err := pki.LoadKeyPair(tc.cert, tc.key)
		if tc.want == pki.ProblemNone {
			if err != nil {
				t.Errorf("LoadKeyPair(%s) = %v", tc.name, err)
			} else if kp.Cert.Subject.CommonName != "alice" {
				t.Errorf("LoadKeyPair(%s) CN = %q", tc.name, kp.Cert.Subject.CommonName)
			}
			continue
		}
		if got := problemOf(err); got != tc.want {
			t.Errorf("LoadKeyPair(%s) = %q (%v), want %q", tc.name, got, err, tc.want)
		}
		if err != nil {
			oneSentence(t, tc.name, err.Error())
		}
	}
	if _, err := pki.LoadCAFile(a.Key); problemOf(err) != pki.ProblemWrongType {
		t.Errorf("LoadCAFile(key) = %v, want wrong-type", err)
	}
	if cas, err := pki.LoadCAFile(f.CAFile); err != nil || len(cas) != 1 || !cas[0].IsCA {
		t.Errorf("LoadCAFile(ca) = %v, %v", cas, err)
	}
}

// TestUnreadableChild is run by TestUnreadable as user nobody.
func TestUnreadableChild(t *testing.T) {
	path := os.Getenv(pkitest.ChildEnv)
	if path == "" {
		t.Skip("run by TestUnreadable")
	}
	_, err := pki.ReadBundle(path, "key")
	fmt.Printf("PROBLEM=%s\nMESSAGE=%s\n", problemOf(err), err)
}

func TestUnreadable(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	a := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	dir := pkitest.OpenTempDir(t)
	key := filepath.Join(dir, "alice.key")
	data, _ := os.ReadFile(a.Key)
	pkitest.WriteFile(t, key, data, 0o600)
	out, ran := pkitest.RunAsNobody(t, "TestUnreadableChild", key)
	if !ran {
		os.Chmod(key, 0)
		_, err := pki.ReadBundle(key, "key")
		out = fmt.Sprintf("PROBLEM=%s\nMESSAGE=%s\n", problemOf(err), err)
	}
	if !strings.Contains(out, "PROBLEM="+string(pki.ProblemUnreadable)+"\n") {
		t.Fatalf("unreadable key: %s", out)
	}
	msg := out[strings.Index(out, "MESSAGE=")+8:]
	msg = msg[:strings.IndexByte(msg, '\n')]
	oneSentence(t, "unreadable", msg)
	for _, want := range []string{key, "not readable", "mode 0600"} {
		if !strings.Contains(msg, want) {
			t.Errorf("unreadable message %q lacks %q", msg, want)
		}
	}
}
