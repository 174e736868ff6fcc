package builderd

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// smtpServer is a minimal SMTP server for tests: EHLO, optional STARTTLS
// and AUTH PLAIN, MAIL, RCPT (refuses addresses at refuse.invalid), DATA,
// QUIT. It records each message.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // offer STARTTLS
	needAuth string      // "user\x00pass": offer AUTH PLAIN and require it

	mu   sync.Mutex
	msgs []smtpMsg
}

type smtpMsg struct {
	from   string
	rcpts  []string
	data   string
	tls    bool
	authed bool
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

func (s *smtpServer) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	say("220 test ESMTP")
	var m smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO":
			say("250-test")
			if s.tls != nil && !m.tls {
				say("250-STARTTLS")
			}
			if s.needAuth != "" {
				say("250-AUTH PLAIN")
			}
			say("250 8BITMIME")
		case cmd == "STARTTLS" && s.tls != nil:
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
			m.tls = true
		case cmd == "AUTH":
			f := strings.Fields(line)
			b, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			if len(f) == 3 && strings.TrimPrefix(string(b), "\x00") == s.needAuth {
				m.authed = true
				say("235 ok")
			} else {
				say("535 bad credentials")
			}
		case cmd == "MAIL":
			if s.needAuth != "" && !m.authed {
				say("530 authentication required")
				continue
			}
			from := strings.TrimPrefix(line[4:], " FROM:<")
			m.from = from[:strings.IndexByte(from+">", '>')]
			say("250 ok")
		case cmd == "RCPT":
			to := strings.Trim(strings.TrimPrefix(line[4:], " TO:"), "<> ")
			if strings.HasSuffix(to, "@refuse.invalid") {
				say("550 no such user")
				continue
			}
			m.rcpts = append(m.rcpts, to)
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = data.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

// mailHub answers what the notification handlers read about a build's
// task tree (tasks 900: build on builder1, 901: buildArch, failed), over
// the fake hub.
type mailHub struct {
	*fakeHub
}

func (h *mailHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	params, err := roundTripCall(method, args)
	if err != nil {
		return nil, err
	}
	pos, _ := splitKw(params)
	id := int64(0)
	if len(pos) > 0 {
		id = id64(pos[0])
	}
	var v any
	switch {
	case method == "getTaskInfo" && (id == 900 || id == 901):
		v = map[string]any{"id": id, "method": "build", "arch": "noarch", "label": nil, "state": int64(5), "host_id": int64(3)}
		if id == 901 {
			v = map[string]any{"id": id, "method": "buildArch", "arch": "x86_64", "label": "x86_64", "state": int64(5), "host_id": int64(3)}
		}
	case method == "getHost" && id == 3:
		v = map[string]any{"id": int64(3), "name": "builder1"}
	case method == "getTaskResult" && id == 900:
		return nil, kojixml.Errorf(kojixml.BuildError, "error building package (arch x86_64), mock exited with status 1")
	case method == "getTaskResult" && id == 901:
		return nil, kojixml.Errorf(kojixml.BuildError, "mock exited with status 1")
	case method == "listTaskOutput" && id == 900:
		v = map[string]any{"hello-1.0-1.src.rpm": []any{"DEFAULT"}}
	case method == "listTaskOutput" && id == 901:
		v = map[string]any{"build.log": []any{"DEFAULT"}, "root.log": []any{"DEFAULT"}, "hello-1.0-1.x86_64.rpm": []any{"DEFAULT"}}
	case method == "getTaskRequest" && id == 900:
		v = []any{"git+https://src.example.org/rpms/hello.git#abc123", "f40-candidate", map[string]any{}}
	case method == "getTaskRequest" && id == 901:
		v = []any{"tasks/900/hello-1.0-1.src.rpm", int64(10), "x86_64", true, map[string]any{}}
	case method == "getTaskChildren" && id == 900:
		v = []any{map[string]any{"id": int64(901)}}
	case method == "getTaskChildren" && id == 901:
		v = []any{}
	case method == "getChangelogEntries":
		v = []any{map[string]any{"date": "2026-11-30 00:00:00", "date_ts": int64(1796169600), "author": "Alice <alice@example.org> - 1.0-1", "text": "- first build"}}
	case method == "getUser":
		v = map[string]any{"id": int64(1), "name": "alice"}
	case method == "getBuild":
		v = mailBuild(int64(3))
	case method == "getTag":
		v = map[string]any{"id": id, "name": map[int64]string{11: "f40", 12: "f40-updates"}[id]}
	default:
		return h.fakeHub.Call(ctx, method, args...)
	}
	return roundTripResponse(v)
}

func mailBuild(state int64) map[string]any {
	return map[string]any{"id": int64(42), "build_id": int64(42), "package_name": "hello", "name": "hello", "version": "1.0", "release": "1",
		"epoch": nil, "nvr": "hello-1.0-1", "state": state, "task_id": int64(900), "owner_name": "alice", "owner_id": int64(1),
		"creation_ts": 1796169600.5, "completion_ts": 1796173200.0, "volume_name": "archive", "draft": false}
}

func TestNotificationMail(t *testing.T) {
	srv := newSMTPServer(t)
	e := newEnv(t)
	e.cfg.SMTPHost = srv.addr()
	e.cfg.FromAddr = "Koji Build System <buildsys@example.org>"
	e.cfg.TopURL = []string{"https://koji.example.org/kojifiles/"}
	h := &mailHub{fakeHub: e.hub}
	e.startWith(t, h)
	target := map[string]any{"id": int64(1), "name": "f40-candidate", "dest_tag": int64(11), "dest_tag_name": "f40"}
	to := []any{"alice@example.org", "bob@example.org"}

	// a failed build
	id := e.hub.addTask("buildNotification", to, mailBuild(3), target, "https://koji.example.org/koji")
	tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed || tk.result != "sent notification of build 42 to: alice@example.org, bob@example.org" {
		t.Fatalf("buildNotification = %s %v %v", stateName(tk.state), tk.result, tk.fault)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "buildsys@example.org" || !reflect.DeepEqual(m.rcpts, []string{"alice@example.org", "bob@example.org"}) || m.tls || m.authed {
		t.Errorf("envelope = %+v", m)
	}
	started := formatTimeLong(1796169600.5)
	for _, want := range []string{
		"From: Koji Build System <buildsys@example.org>\r\nSubject: Package: hello-1.0-1 Tag: f40 Status: failed Built by: alice\r\nTo: alice@example.org, bob@example.org\r\n",
		"X-Koji-Tag: f40\r\nX-Koji-Package: hello\r\nX-Koji-Builder: alice\r\nX-Koji-Status: failed\r\nX-Koji-Draft: False\r\n\r\n",
		"Package: hello-1.0-1\r\nTag: f40\r\nStatus: failed\r\nBuilt by: alice\r\nID: 42\r\nStarted: " + started + "\r\n",
		"Changelog:\r\n* Mon Nov 30 2026 Alice <alice@example.org> - 1.0-1\r\n- first build\r\n\r\n",
		"\r\nhello-1.0-1 (42) failed on builder1 (noarch), builder1 (x86_64):\r\n  error building package (arch x86_64), mock exited with status 1\r\n",
		"SRPMS:\r\n  hello-1.0-1.src.rpm\r\n\r\n",
		"Failed tasks:\r\n-------------\r\n\r\nTask 900 on builder1\r\nTask Type: build (f40-candidate, /rpms/hello.git:abc123)\r\n\r\n",
		"Task 901 on builder1\r\nTask Type: buildArch (hello-1.0-1.src.rpm, x86_64)\r\nlogs:\r\n https://koji.example.org/koji/getfile?taskID=901&name=build.log&volume=DEFAULT\r\n https://koji.example.org/koji/getfile?taskID=901&name=root.log&volume=DEFAULT\r\n",
		"rpms:\r\n https://koji.example.org/kojifiles/vol/archive/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm\r\n",
		"Task Info: https://koji.example.org/koji/taskinfo?taskID=900\r\nBuild Info: https://koji.example.org/koji/buildinfo?buildID=42\r\n",
	} {
		if !strings.Contains(m.data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.data)
		}
	}

	// a canceled build names who canceled it (the task's owner)
	id = e.hub.addTask("buildNotification", to[:1], mailBuild(4), nil, "https://koji.example.org/koji")
	if tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Fatalf("buildNotification (canceled) = %s %v", stateName(tk.state), tk.fault)
	}
	if m := srv.messages()[1]; !strings.Contains(m.data, "Subject: Package: hello-1.0-1 Tag: None Status: canceled Built by: alice\r\n") ||
		!strings.Contains(m.data, "Status: canceled\r\nCanceled by: alice\r\n") {
		t.Errorf("canceled mail:\n%s", m.data)
	}

	// a move, failed; a refused recipient does not stop the others
	id = e.hub.addTask("tagNotification", []any{"carol@example.org", "nobody@refuse.invalid"}, false, int64(12), int64(11), int64(42), int64(1), false, "<class 'koji.TagError'>: build hello-1.0-1 already tagged (f40-updates)")
	tk = e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed || !strings.HasPrefix(asString(tk.result), "sent notification of tag operation ") || !strings.Contains(asString(tk.result), "refused by") {
		t.Fatalf("tagNotification = %s %v %v", stateName(tk.state), tk.result, tk.fault)
	}
	m = srv.messages()[2]
	if !reflect.DeepEqual(m.rcpts, []string{"carol@example.org"}) {
		t.Errorf("tag mail recipients = %v", m.rcpts)
	}
	want := "From: Koji Build System <buildsys@example.org>\r\n" +
		"Subject: hello-1.0-1 unsuccessfully moved from f40 into f40-updates by alice\r\n" +
		"To: carol@example.org, nobody@refuse.invalid\r\n" +
		"X-Koji-Package: hello\r\nX-Koji-NVR: hello-1.0-1\r\nX-Koji-Draft: False\r\nX-Koji-User: alice\r\nX-Koji-Status: failed\r\n" +
		"X-Koji-Tag: f40\r\nX-Koji-Tag: f40-updates\r\n\r\n" +
		"Package: hello\r\nNVR: hello-1.0-1\r\nUser: alice\r\nStatus: failed\r\n" +
		"Tag Operation: moved\r\nFrom Tag: f40\r\nInto Tag: f40-updates\r\n\r\n" +
		"hello-1.0-1 unsuccessfully moved from f40 into f40-updates by alice\r\n" +
		"Operation failed with the error:\r\n    <class 'koji.TagError'>: build hello-1.0-1 already tagged (f40-updates)\r\n\r\n"
	if m.data != want {
		t.Errorf("tag mail =\n%q\nwant\n%q", m.data, want)
	}

	// ignore_success and success: nothing sent
	id = e.hub.addTask("tagNotification", []any{"carol@example.org"}, true, int64(11), nil, int64(42), int64(1), true)
	if tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateClosed || tk.result != nil {
		t.Errorf("ignored success = %s %v", stateName(tk.state), tk.result)
	}
	// hostile recipients are refused
	id = e.hub.addTask("tagNotification", []any{"a@b\r\nBcc: x@y"}, true, int64(11), nil, int64(42), int64(1))
	if tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateFailed || tk.fault.Code != kojixml.ParameterError {
		t.Errorf("header injection = %s %v", stateName(tk.state), tk.fault)
	}
	if n := len(srv.messages()); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func TestNotificationWithoutSMTPHost(t *testing.T) {
	e := newEnv(t)
	h := &mailHub{fakeHub: e.hub}
	e.startWith(t, h)
	id := e.hub.addTask("tagNotification", []any{"carol@example.org"}, true, int64(11), nil, int64(42), int64(1))
	tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed || !strings.Contains(asString(tk.result), "not sent to: carol@example.org (smtphost is not set in kojid.conf)") {
		t.Errorf("without smtphost = %s %v %v", stateName(tk.state), tk.result, tk.fault)
	}
}

// TestMailerSTARTTLSAndAuth: STARTTLS when offered, then AUTH PLAIN; a
// wrong password fails the send.
func TestMailerSTARTTLSAndAuth(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	srv := newSMTPServer(t)
	srv.tls = &tls.Config{Certificates: ts.TLS.Certificates}
	srv.needAuth = "kojid\x00s3cret"
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	clientTLS := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	m := mailer{host: srv.addr(), user: "kojid", pass: "s3cret", from: "Koji <koji@example.org>", tls: clientTLS}
	refused, err := m.send(context.Background(), []string{"alice@example.org"}, []byte("Subject: hi\r\n\r\nbody\r\n"))
	if err != nil || len(refused) != 0 {
		t.Fatalf("send = %v, %v", refused, err)
	}
	got := srv.messages()
	if len(got) != 1 || !got[0].tls || !got[0].authed || got[0].from != "koji@example.org" || got[0].data != "Subject: hi\r\n\r\nbody\r\n" {
		t.Errorf("message = %+v", got)
	}
	m.pass = "wrong"
	if _, err := m.send(context.Background(), []string{"alice@example.org"}, []byte("x\r\n")); err == nil || !strings.Contains(err.Error(), "login as kojid") {
		t.Errorf("wrong password: %v", err)
	}
	// a server that does not verify fails before any login is sent
	m.pass, m.tls = "s3cret", &tls.Config{ServerName: "127.0.0.1"}
	if _, err := m.send(context.Background(), []string{"alice@example.org"}, []byte("x\r\n")); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
