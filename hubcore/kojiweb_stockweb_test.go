package hubcore

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// stockWebApp is the WSGI entry point the test gives gunicorn: Koji's
// wsgi_publisher with the environment Apache's mod_wsgi and mod_ssl would
// set. X-Test-Client-CN stands for a browser's verified client
// certificate (mod_ssl's SSL_CLIENT_VERIFY and SSL_CLIENT_S_DN_CN).
const stockWebApp = `import sys
sys.path[:0] = [%[1]q, %[1]q + '/cli', %[1]q + '/www/lib', %[1]q + '/www/kojiweb']
import wsgi_publisher

def application(environ, start_response):
    environ['koji.web.ConfigFile'] = %[2]q
    environ['koji.web.ConfigDir'] = %[3]q
    environ['SCRIPT_FILENAME'] = %[1]q + '/www/kojiweb/wsgi_publisher.py'
    cn = environ.get('HTTP_X_TEST_CLIENT_CN')
    if cn:
        environ['wsgi.url_scheme'] = 'https'
        environ['SSL_CLIENT_VERIFY'] = 'SUCCESS'
        environ['SSL_CLIENT_S_DN_CN'] = cn
    environ.setdefault('REQUEST_SCHEME', environ['wsgi.url_scheme'])
    uri = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if environ.get('QUERY_STRING'):
        uri += '?' + environ['QUERY_STRING']
    environ.setdefault('REQUEST_URI', uri)
    return wsgi_publisher.application(environ, start_response)
`

// stockWeb is Koji 1.35's own web interface, run with gunicorn against a
// TLS hub when KOJI_STOCK_WEB names a Koji source tree.
type stockWeb struct {
	base string // http://127.0.0.1:PORT/koji
	hc   *http.Client
}

// startStockWeb serves th's store over TLS with kojiweb's certificate in
// ProxyDNs, and kojiweb from src in gunicorn in front of it.
func startStockWeb(t *testing.T, th *testHub, src string) *stockWeb {
	t.Helper()
	gunicorn, err := exec.LookPath("gunicorn")
	if err != nil {
		t.Skip("gunicorn not installed (Debian: apt-get install gunicorn python3-jinja2)")
	}
	farm := pkitest.NewFarm(t, "kojigo CA web")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	web := farm.Issue("kojiweb", pki.Request{Role: pki.RoleWeb, Name: "kojiweb"})
	fc := DefaultFileConfig()
	fc.DB = "sqlite:///unused"
	fc.KojiDir = th.hub.cfg.TopDir
	fc.TLSCert, fc.TLSKey, fc.TLSClientCA = hubCert.Cert, hubCert.Key, farm.CAFile
	fc.ProxyDNs = "CN=kojiweb"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServerOn(ctx, ServerOptions{Config: fc, Listener: ln}, th.store) }()
	t.Cleanup(func() { cancel(); <-done })
	hubURL := "https://" + ln.Addr().String() + "/kojihub"

	dir := t.TempDir()
	conf := filepath.Join(dir, "web.conf")
	body := fmt.Sprintf("[web]\nSiteName = koji\nKojiHubURL = %s\nKojiFilesURL = https://%s/kojifiles\nWebCert = %s\nKojiHubCA = %s\nSecret = stock-web-test-secret\nLibPath = %s/www/lib\nLoginTimeout = 72\n",
		hubURL, ln.Addr(), web.PEM, farm.CAFile, src)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf(stockWebApp, src, conf, filepath.Join(dir, "web.conf.d"))
	if err := os.WriteFile(filepath.Join(dir, "kojiwebtest.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := wl.Addr().String()
	wl.Close()
	cmd := exec.Command(gunicorn, "--chdir", dir, "-b", addr, "-w", "2", "--timeout", "60", "--env", "SCRIPT_NAME=/koji", "kojiwebtest:application")
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "gunicorn.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("gunicorn log:\n%s", b)
		}
	})
	sw := &stockWeb{base: "http://" + addr + "/koji", hc: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := sw.hc.Get(sw.base + "/api")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kojiweb did not answer in 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return sw
}

// get fetches a page with the headers given ("Name: value").
func (sw *stockWeb) get(t *testing.T, page string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", sw.base+"/"+page, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := sw.hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", page, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// pageError is the error kojiweb's error page shows, or "".
var pageErrorRE = regexp.MustCompile(`(?m)^([A-Za-z_.]*(Error|Fault|Exception)[^<\n]*)`)

func pageError(body string) string {
	if !strings.Contains(body, "Traceback") && !strings.Contains(body, "An error has occurred") {
		return ""
	}
	if m := pageErrorRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "an error page"
}

// TestStockKojiweb runs Koji 1.35's web interface on a kojigo hub and gets
// every page it has (but the archive ones: kojigo keeps no archives)
// anonymously, then logs alice in through kojiweb's certificate (ProxyDNs)
// and uses the pages and forms of a logged-in user. Run it with
// KOJI_STOCK_WEB=/path/to/koji-1.35 (needs gunicorn and python3-jinja2).
func TestStockKojiweb(t *testing.T) {
	src := os.Getenv("KOJI_STOCK_WEB")
	if src == "" {
		t.Skip("KOJI_STOCK_WEB is not set: point it at a Koji 1.35 source tree to run the stock web interface")
	}
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newKojiwebWorld(t, th)
		sw := startStockWeb(t, th, src)
		pages := []string{
			"index", "tasks", "tasks?state=all&view=tree", "tasks?view=flat&state=failed&method=buildArch", fmt.Sprintf("tasks?owner=alice&hostID=%d", w.hostID),
			fmt.Sprintf("taskinfo?taskID=%d", w.parentTask), fmt.Sprintf("taskinfo?taskID=%d", w.childTask), fmt.Sprintf("taskinfo?taskID=%d", w.grandchildTask),
			fmt.Sprintf("taskstatus?taskID=%d", w.parentTask),
			"builds", "builds?state=1&order=-build_id", fmt.Sprintf("builds?userID=%d", w.aliceID), fmt.Sprintf("builds?tagID=%d", w.tagID), fmt.Sprintf("builds?packageID=%d", w.pkgID), "builds?prefix=h",
			fmt.Sprintf("buildinfo?buildID=%d", w.buildID), fmt.Sprintf("buildinfo?buildID=%d", w.taskBuildID),
			fmt.Sprintf("rpminfo?rpmID=%d", w.rpmID), fmt.Sprintf("rpminfo?rpmID=%d", w.srpmID),
			"tags", fmt.Sprintf("taginfo?tagID=%d", w.tagID), fmt.Sprintf("taginfo?tagID=%d&all=1", w.buildTagID),
			"packages", fmt.Sprintf("packages?tagID=%d&inherited=1", w.tagID), "packages?prefix=h", fmt.Sprintf("packageinfo?packageID=%d", w.pkgID),
			"hosts", "hosts?state=all&channel=default", fmt.Sprintf("hostinfo?hostID=%d", w.hostID), fmt.Sprintf("channelinfo?channelID=%d", w.channelID),
			"buildroots", fmt.Sprintf("buildroots?repoID=%d", w.repoID), "buildroots?state=0", fmt.Sprintf("buildrootinfo?buildrootID=%d", w.buildrootID),
			fmt.Sprintf("rpmlist?buildrootID=%d&type=component", w.buildrootID), fmt.Sprintf("rpmlist?buildrootID=%d&type=built", w.buildrootID),
			"users", fmt.Sprintf("userinfo?userID=%d", w.aliceID), fmt.Sprintf("userinfo?userID=%d", w.adminID),
			"buildtargets", fmt.Sprintf("buildtargetinfo?targetID=%d", w.targetID),
			"reports", "buildsbyuser", "rpmsbyhost", "packagesbyuser", "tasksbyhost", "tasksbyuser", "buildsbystatus", "buildsbytarget", "buildsbytarget?days=-1",
			"search", "search?terms=hel*&type=package&match=glob", "search?terms=hello&type=build&match=glob", "search?terms=hello*&type=rpm&match=glob", "search?terms=f40*&type=tag&match=glob",
			"search?terms=f40-candidate&type=target&match=exact", "search?terms=alice&type=user&match=glob",
			fmt.Sprintf("repoinfo?repoID=%d", w.repoID), "reporequests", fmt.Sprintf("externalrepoinfo?extrepoID=%d", w.extRepoID),
			"clusterhealth", "clusterhealth?arch=x86_64", "recentbuilds", fmt.Sprintf("recentbuilds?tag=f40&package=hello"), "api",
		}
		crawl := func(t *testing.T, headers ...string) {
			for _, p := range pages {
				t.Run(p, func(t *testing.T) {
					resp, body := sw.get(t, p, headers...)
					if e := pageError(body); e != "" {
						t.Fatalf("%s: HTTP %d: %s", p, resp.StatusCode, e)
					}
					if resp.StatusCode != 200 && resp.StatusCode != 302 {
						t.Fatalf("%s: HTTP %d", p, resp.StatusCode)
					}
				})
			}
		}
		t.Run("anonymous", func(t *testing.T) { crawl(t) })

		// kojiweb's login: the browser's certificate says alice; kojiweb
		// logs her in at the hub through its own certificate.
		resp, body := sw.get(t, "login", "X-Test-Client-CN: alice")
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "user" {
				cookie = "user=" + c.Value
			}
		}
		if resp.StatusCode != 302 || cookie == "" {
			t.Fatalf("login: HTTP %d, cookie %q: %s", resp.StatusCode, cookie, pageError(body))
		}
		t.Run("alice", func(t *testing.T) {
			crawl(t, "Cookie: "+cookie)
			_, body := sw.get(t, "index", "Cookie: "+cookie)
			m := regexp.MustCompile(`notificationcreate\?a=([0-9a-f]+)`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("index for alice has no notificationcreate link with a token")
			}
			for _, p := range []string{"activesession", "notificationcreate?a=" + m[1]} {
				resp, body := sw.get(t, p, "Cookie: "+cookie)
				if e := pageError(body); e != "" || resp.StatusCode != 200 {
					t.Errorf("%s as alice: HTTP %d %s", p, resp.StatusCode, e)
				}
			}
			// a form that writes, through a proxied session
			resp, body := sw.get(t, fmt.Sprintf("notificationcreate?add=1&package=%d&tag=%d&success_only=1&a=%s", w.pkgID, w.tagID, m[1]), "Cookie: "+cookie, "Referer: "+sw.base+"/index")
			if e := pageError(body); e != "" || resp.StatusCode != 302 {
				t.Fatalf("adding a notification as alice: HTTP %d %s", resp.StatusCode, e)
			}
			ns := th.anon().must("getBuildNotifications", w.aliceID).([]any)
			if len(ns) != 1 || ns[0].(map[string]any)["package_id"] != w.pkgID || ns[0].(map[string]any)["success_only"] != true {
				t.Errorf("alice's notifications after the form = %v", ns)
			}
			// the hub logged her in, by proxy: she has a session now
			if last, err := th.store.LastSessionUpdate(context.Background(), w.aliceID); err != nil || last == nil {
				t.Errorf("alice's last session after kojiweb's login = %v, %v; want one", last, err)
			}
		})
	})
}
