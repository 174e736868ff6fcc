package builderd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"path"
	"sort"
	"strings"
	"time"
)

// Notification mail, as Koji's kojid BuildNotificationTask and
// TagNotificationTask: the hub chose the recipients (hubcore/notifymail.go);
// kojid reads what the mail says from the hub and sends it through
// kojid.conf's smtphost, in Koji's text format (CRLF lines, Koji's
// headers), from from_addr, logging in with smtp_user and smtp_pass when
// both are set. STARTTLS is used when the server offers it. Without
// smtphost no mail is sent, and the task's result says so.

// buildNotificationHandler runs buildNotification(recipients, build,
// target, weburl).
type buildNotificationHandler struct{}

func (buildNotificationHandler) weight(*task) float64 { return 0.1 }

func (buildNotificationHandler) check(context.Context, *task) error { return nil }

func (buildNotificationHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	recipients := a.List(0, "recipients")
	build := a.Map(1, "build")
	target := a.Any(2, "target")
	weburl := a.Any(3, "weburl")
	if err := a.Done(); err != nil {
		return nil, err
	}
	to, err := mailRecipients(recipients)
	if err != nil || len(to) == 0 {
		return nil, err
	}
	msg, err := t.buildMail(ctx, to, build, asMap(target), asString(weburl))
	if err != nil {
		return nil, err
	}
	buildID, _ := asInt(build["id"])
	return t.sendMail(ctx, to, msg, fmt.Sprintf("notification of build %d", buildID))
}

// tagNotificationHandler runs tagNotification(recipients, is_successful,
// tag_info, from_info, build_info, user_info, ignore_success=None,
// failure_msg=”).
type tagNotificationHandler struct{}

func (tagNotificationHandler) weight(*task) float64 { return 0.1 }

func (tagNotificationHandler) check(context.Context, *task) error { return nil }

func (tagNotificationHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	recipients := a.List(0, "recipients")
	ok := a.Any(1, "is_successful")
	tagInfo := a.Any(2, "tag_info")
	fromInfo := a.Any(3, "from_info")
	buildInfo := a.Any(4, "build_info")
	userInfo := a.Any(5, "user_info")
	ignore := a.OptAny(6, "ignore_success", nil)
	failure := a.OptAny(7, "failure_msg", "")
	if err := a.Done(); err != nil {
		return nil, err
	}
	to, err := mailRecipients(recipients)
	if err != nil || len(to) == 0 {
		return nil, err
	}
	if asBool(ignore) && asBool(ok) {
		return nil, nil
	}
	build, err := callMap(ctx, t.d.hub, "getBuild", buildInfo)
	if err != nil {
		return nil, err
	}
	if build == nil {
		return nil, genericErrorf("tagNotification: no such build: %v", buildInfo)
	}
	user, err := callMap(ctx, t.d.hub, "getUser", userInfo)
	if err != nil {
		return nil, err
	}
	var tagName, fromName string
	for _, x := range []struct {
		info any
		name *string
	}{{fromInfo, &fromName}, {tagInfo, &tagName}} {
		if x.info == nil || x.info == false {
			continue
		}
		tag, err := callMap(ctx, t.d.hub, "getTag", x.info)
		if err != nil {
			return nil, err
		}
		if tag == nil {
			return nil, genericErrorf("tagNotification: no such tag: %v", x.info)
		}
		*x.name = asString(tag["name"])
	}
	msg := tagMail(t.d.cfg.FromAddr, to, build, asString(user["name"]), tagName, fromName, asBool(ok), asString(failure))
	return t.sendMail(ctx, to, msg, fmt.Sprintf("notification of tag operation %d", t.id))
}

// mailRecipients checks the recipient list: addresses, no line breaks.
func mailRecipients(l []any) ([]string, error) {
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok || s == "" || strings.ContainsAny(s, "\r\n<>,") || len(s) > 320 {
			return nil, paramErrorf("recipients: %q is not a mail address", fmt.Sprint(x))
		}
		out = append(out, s)
	}
	return out, nil
}

// pyStr is Python's str() of a decoded value, for Koji's %s.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// nvrOf is koji.buildLabel.
func nvrOf(b map[string]any) string {
	name := asString(b["package_name"])
	if name == "" {
		name = asString(b["name"])
	}
	return name + "-" + pyStr(b["version"]) + "-" + pyStr(b["release"])
}

// tagMail is TagNotificationTask's message.
func tagMail(from string, to []string, build map[string]any, userName, tagName, fromName string, ok bool, failure string) []byte {
	nvr := nvrOf(build)
	operation := "%s"
	details := "Tag Operation: %s\r\n"
	var headers []string
	action := ""
	if fromName != "" {
		operation += " from " + fromName
		details += "From Tag: " + fromName + "\r\n"
		headers = append(headers, "X-Koji-Tag: "+fromName)
		action = "untagged"
	}
	if tagName != "" {
		operation += " into " + tagName
		details += "Into Tag: " + tagName + "\r\n"
		headers = append(headers, "X-Koji-Tag: "+tagName)
		action = "tagged"
	}
	if fromName != "" && tagName != "" {
		action = "moved"
	}
	operation = strings.Replace(operation, "%s", action, 1)
	details = strings.Replace(details, "%s", action, 1)
	result, status, failureInfo := "successfully", "complete", ""
	if !ok {
		result, status = "unsuccessfully", "failed"
		failureInfo = "Operation failed with the error:\r\n    " + failure + "\r\n"
	}
	pkg := asString(build["package_name"])
	draft := pyStr(asBool(build["draft"]))
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nSubject: %s %s %s by %s\r\nTo: %s\r\n", from, nvr, result, operation, userName, strings.Join(to, ", "))
	fmt.Fprintf(&b, "X-Koji-Package: %s\r\nX-Koji-NVR: %s\r\nX-Koji-Draft: %s\r\nX-Koji-User: %s\r\nX-Koji-Status: %s\r\n%s\r\n\r\n",
		pkg, nvr, draft, userName, status, strings.Join(headers, "\r\n"))
	fmt.Fprintf(&b, "Package: %s\r\nNVR: %s\r\nUser: %s\r\nStatus: %s\r\n%s\r\n%s %s %s by %s\r\n%s\r\n",
		pkg, nvr, userName, status, details, nvr, result, operation, userName, failureInfo)
	return []byte(b.String())
}

// mailTask is a task of the build's tree, as BuildNotificationTask's
// _getTaskData gathers it.
type mailTask struct {
	id              int64
	method, arch    string
	buildArch, host string
	state, result   string
	request         []any
	logs, misc      [][2]string // file, volume
	rpms, srpms     []string
}

// taskStateNames are koji.TASK_STATES, lower case.
var taskStateNames = map[int64]string{0: "free", 1: "open", 2: "closed", 3: "canceled", 4: "assigned", 5: "failed"}

// mailTasks reads a task and its descendants, parent first.
func (t *task) mailTasks(ctx context.Context, id int64, out []*mailTask, depth int) ([]*mailTask, error) {
	if depth > 20 || len(out) > 1000 {
		return out, nil
	}
	info, err := callMap(ctx, t.d.hub, "getTaskInfo", id)
	if err != nil || info == nil {
		return out, err
	}
	mt := &mailTask{id: id, method: asString(info["method"]), arch: asString(info["arch"]), buildArch: asString(info["label"])}
	st, _ := asInt(info["state"])
	mt.state = taskStateNames[st]
	if hid, ok := asInt(info["host_id"]); ok && hid != 0 {
		h, err := callMap(ctx, t.d.hub, "getHost", hid)
		if err != nil {
			return out, err
		}
		mt.host = asString(h["name"])
	}
	res, err := t.d.hub.Call(ctx, "getTaskResult", id)
	if f, ok := isFault(err); ok {
		mt.result = strings.TrimSpace(f.String)
	} else if err != nil {
		return out, fmt.Errorf("getTaskResult: %w", err)
	} else if res != nil && res != "" && res != false {
		mt.result = pyStr(res)
	}
	if mt.result == "" {
		mt.result = "Unknown"
	}
	files, err := callMap(ctx, t.d.hub, "listTaskOutput", id, kw("all_volumes", true))
	if err != nil {
		return out, err
	}
	for name, vols := range files {
		switch {
		case strings.HasSuffix(name, ".log"):
			for _, v := range asStrings(vols) {
				mt.logs = append(mt.logs, [2]string{name, v})
			}
		case strings.HasSuffix(name, ".src.rpm"):
			mt.srpms = append(mt.srpms, name)
		case strings.HasSuffix(name, ".rpm"):
			mt.rpms = append(mt.rpms, name)
		default:
			for _, v := range asStrings(vols) {
				mt.misc = append(mt.misc, [2]string{name, v})
			}
		}
	}
	byVolume := func(l [][2]string) {
		sort.Slice(l, func(i, j int) bool {
			if l[i][1] != l[j][1] {
				return l[i][1] < l[j][1]
			}
			return l[i][0] < l[j][0]
		})
	}
	byVolume(mt.logs)
	byVolume(mt.misc)
	sort.Strings(mt.rpms)
	req, err := t.d.hub.Call(ctx, "getTaskRequest", id)
	if err != nil {
		return out, fmt.Errorf("getTaskRequest: %w", err)
	}
	mt.request = asList(req)
	out = append(out, mt)
	kids, err := t.d.hub.Call(ctx, "getTaskChildren", id)
	if err != nil {
		return out, fmt.Errorf("getTaskChildren: %w", err)
	}
	for _, k := range asList(kids) {
		kid, _ := asInt(asMap(k)["id"])
		if out, err = t.mailTasks(ctx, kid, out, depth+1); err != nil {
			return out, err
		}
	}
	return out, nil
}

// label is koji.taskLabel for the methods of a build's tree.
func (m *mailTask) label() string {
	arg := func(i int) string {
		if i >= len(m.request) {
			return ""
		}
		if mm := asMap(m.request[i]); mm != nil {
			return asString(mm["name"])
		}
		return pyStr(m.request[i])
	}
	extra := ""
	switch m.method {
	case "build":
		src := arg(0)
		if strings.Contains(src, "://") {
			src = scmModuleInfo(src)
		} else {
			src = path.Base(src)
		}
		extra = arg(1) + ", " + src
	case "buildSRPMFromSCM":
		extra = scmModuleInfo(arg(0))
	case "buildArch":
		extra = path.Base(arg(0)) + ", " + arg(2)
	case "tagBuild", "newRepo", "waitrepo":
		extra = arg(0)
	}
	if extra == "" {
		extra = m.arch
	}
	return m.method + " (" + extra + ")"
}

// scmModuleInfo is koji's _module_info of an SCM URL: "/repo:ref".
func scmModuleInfo(u string) string {
	rev := u
	if i := strings.Index(u, "#"); i >= 0 {
		rev = u[i+1:]
	}
	rest := u
	if i := strings.Index(u, "://"); i >= 0 {
		rest = u[i+3:]
	}
	repo := ""
	if i := strings.Index(rest, "/"); i >= 0 {
		repo = rest[i:]
	}
	module := ""
	if i := strings.Index(repo, "?"); i >= 0 {
		module = repo[i+1:]
		repo = repo[:i]
	}
	if i := strings.Index(repo, "#"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.Index(module, "#"); i >= 0 {
		module = module[:i]
	}
	if module != "" {
		return repo + ":" + module + ":" + rev
	}
	return repo + ":" + rev
}

// formatTimeLong is koji.formatTimeLong of a timestamp, in local time.
func formatTimeLong(v any) string {
	f, ok := v.(float64)
	if !ok {
		n, isInt := asInt(v)
		if !isInt {
			return ""
		}
		f = float64(n)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).Local().Format("Mon, 02 Jan 2006 15:04:05 MST")
}

// buildMail is BuildNotificationTask's message.
func (t *task) buildMail(ctx context.Context, to []string, build, target map[string]any, weburl string) ([]byte, error) {
	nvr := nvrOf(build)
	buildID, _ := asInt(build["id"])
	owner := asString(build["owner_name"])
	destTag := "None"
	if target != nil {
		destTag = pyStr(target["dest_tag_name"])
	}
	state, _ := asInt(build["state"])
	status := map[int64]string{0: "building", 1: "complete", 2: "deleted", 3: "failed", 4: "canceled"}[state]
	taskID, _ := asInt(build["task_id"])
	var tasks []*mailTask
	var err error
	if taskID != 0 {
		if tasks, err = t.mailTasks(ctx, taskID, nil, 0); err != nil {
			return nil, err
		}
	}
	cancelInfo, failureInfo := "", ""
	switch state {
	case 4:
		// the buildNotification task's owner canceled the build
		if o, ok := asInt(t.info["owner"]); ok && o != 0 {
			u, err := callMap(ctx, t.d.hub, "getUser", o)
			if err != nil {
				return nil, err
			}
			cancelInfo = "\r\nCanceled by: " + asString(u["name"])
		}
	case 3:
		result := "Unknown"
		var failed []string
		for _, mt := range tasks {
			if mt.id == taskID {
				result = mt.result
			}
			if mt.host != "" && mt.state == "failed" {
				failed = append(failed, mt.host+" ("+mt.arch+")")
			}
		}
		failureInfo = fmt.Sprintf("\r\n%s (%d) failed on %s:\r\n  %s", nvr, buildID, strings.Join(failed, ", "), result)
	}
	failure := failureInfo
	if failure == "" {
		failure = cancelInfo
	}
	srpmSet := map[string]bool{}
	for _, mt := range tasks {
		for _, s := range mt.srpms {
			srpmSet[s] = true
		}
	}
	var output strings.Builder
	if len(srpmSet) > 0 {
		srpms := make([]string, 0, len(srpmSet))
		for s := range srpmSet {
			srpms = append(srpms, s)
		}
		sort.Strings(srpms)
		output.WriteString("SRPMS:\r\n")
		for _, s := range srpms {
			output.WriteString("  " + s) // Koji writes no line break between them
		}
		output.WriteString("\r\n\r\n")
	}
	topurl := ""
	if len(t.d.cfg.TopURL) > 0 {
		topurl = strings.TrimRight(t.d.cfg.TopURL[0], "/")
	}
	volDir := topurl
	if v := asString(build["volume_name"]); v != "" && v != "DEFAULT" {
		volDir += "/vol/" + v
	}
	buildURL := volDir + "/packages/" + asString(build["name"]) + "/" + pyStr(build["version"]) + "/" + pyStr(build["release"])
	for _, st := range []string{"failed", "canceled", "closed"} {
		var these []*mailTask
		for _, mt := range tasks {
			if mt.state == st {
				these = append(these, mt)
			}
		}
		if len(these) == 0 {
			continue
		}
		fmt.Fprintf(&output, "%s tasks:\r\n%s-------\r\n\r\n", strings.ToUpper(st[:1])+st[1:], strings.Repeat("-", len(st)))
		for _, mt := range these {
			fmt.Fprintf(&output, "Task %d", mt.id)
			if mt.host != "" {
				fmt.Fprintf(&output, " on %s\r\n", mt.host)
			} else {
				output.WriteString("\r\n")
			}
			fmt.Fprintf(&output, "Task Type: %s\r\n", mt.label())
			if len(mt.logs) > 0 {
				output.WriteString("logs:\r\n")
				for _, l := range mt.logs {
					fmt.Fprintf(&output, " %s/getfile?taskID=%d&name=%s&volume=%s\r\n", weburl, mt.id, l[0], l[1])
				}
			}
			if len(mt.rpms) > 0 {
				output.WriteString("rpms:\r\n")
				for _, f := range mt.rpms {
					fmt.Fprintf(&output, " %s/%s/%s\r\n", buildURL, mt.buildArch, f)
				}
			}
			if len(mt.misc) > 0 {
				output.WriteString("misc:\r\n")
				for _, l := range mt.misc {
					fmt.Fprintf(&output, " %s/getfile?taskID=%d&name=%s&volume=%s\r\n", weburl, mt.id, l[0], l[1])
				}
			}
			output.WriteString("\r\n")
		}
		output.WriteString("\r\n")
	}
	changelog := ""
	if buildID != 0 {
		v, err := t.d.hub.Call(ctx, "getChangelogEntries", buildID, kw("queryOpts", map[string]any{"limit": int64(3)}))
		if err != nil {
			return nil, fmt.Errorf("getChangelogEntries: %w", err)
		}
		var cl strings.Builder
		for _, e := range asList(v) {
			m := asMap(e)
			date := asString(m["date"])
			if d, err := time.Parse("2006-01-02 15:04:05", date); err == nil {
				date = d.Format("Mon Jan 02 2006")
			}
			fmt.Fprintf(&cl, "* %s %s\n%s\n\n", date, asString(m["author"]), asString(m["text"]))
		}
		if cl.Len() > 0 {
			changelog = "Changelog:\r\n" + strings.ReplaceAll(cl.String(), "\n", "\r\n")
		}
	}
	subject := fmt.Sprintf("Package: %s Tag: %s Status: %s Built by: %s", nvr, destTag, status, owner)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nSubject: %s\r\nTo: %s\r\nX-Koji-Tag: %s\r\nX-Koji-Package: %s\r\nX-Koji-Builder: %s\r\nX-Koji-Status: %s\r\nX-Koji-Draft: %s\r\n\r\n",
		t.d.cfg.FromAddr, subject, strings.Join(to, ", "), destTag, asString(build["package_name"]), owner, status, pyStr(asBool(build["draft"])))
	fmt.Fprintf(&b, "Package: %s\r\nTag: %s\r\nStatus: %s%s\r\nBuilt by: %s\r\nID: %d\r\nStarted: %s\r\nFinished: %s\r\n%s\r\n%s\r\n%s\r\n",
		nvr, destTag, status, cancelInfo, owner, buildID, formatTimeLong(build["creation_ts"]), formatTimeLong(build["completion_ts"]),
		changelog, failure, output.String())
	fmt.Fprintf(&b, "Task Info: %s/taskinfo?taskID=%d\r\nBuild Info: %s/buildinfo?buildID=%d\r\n", weburl, taskID, weburl, buildID)
	return []byte(b.String()), nil
}

// sendMail sends msg with kojid.conf's smtphost; what is the task result.
func (t *task) sendMail(ctx context.Context, to []string, msg []byte, what string) (any, error) {
	cfg := t.d.cfg
	if cfg.SMTPHost == "" {
		t.log.Warn("notification not sent: smtphost is not set in kojid.conf", "to", to)
		return fmt.Sprintf("%s not sent to: %s (smtphost is not set in kojid.conf)", what, strings.Join(to, ", ")), nil
	}
	m := mailer{host: cfg.SMTPHost, user: cfg.SMTPUser, pass: cfg.SMTPPass, from: cfg.FromAddr}
	refused, err := m.send(ctx, to, msg)
	if err != nil {
		return nil, genericErrorf("%s: %v", what, err)
	}
	res := fmt.Sprintf("sent %s to: %s", what, strings.Join(to, ", "))
	if len(refused) > 0 {
		// smtplib's sendmail: sent when some recipient was taken
		t.log.Warn("notification: recipients refused", "refused", refused)
		res += " (refused by " + cfg.SMTPHost + ": " + strings.Join(refused, ", ") + ")"
	}
	return res, nil
}

// mailer speaks SMTP to one server.
type mailer struct {
	host       string      // host or host:port (port 25 by default)
	user, pass string      // login when both are set
	from       string      // From address, "Name <addr>" or addr
	tls        *tls.Config // for STARTTLS; nil: the system's roots, ServerName the host
}

// mailTimeout bounds a whole SMTP conversation.
const mailTimeout = 2 * time.Minute

// send sends msg to every recipient the server takes and returns those
// it refused; an error when it took none or the conversation failed.
func (m mailer) send(ctx context.Context, to []string, msg []byte) (refused []string, err error) {
	addr := m.host
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host, addr = m.host, net.JoinHostPort(m.host, "25")
	}
	from := m.from
	if a, err := mail.ParseAddress(m.from); err == nil {
		from = a.Address
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtphost %s: %w", m.host, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return nil, fmt.Errorf("smtphost %s: %w", m.host, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return nil, fmt.Errorf("smtphost %s: EHLO: %w", m.host, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.tls
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return nil, fmt.Errorf("smtphost %s: STARTTLS: %w", m.host, err)
		}
	}
	if m.user != "" && m.pass != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, fmt.Errorf("smtphost %s offers no AUTH: unset smtp_user and smtp_pass, or use a server that takes logins", m.host)
		}
		if err := c.Auth(smtp.PlainAuth("", m.user, m.pass, host)); err != nil {
			return nil, fmt.Errorf("smtphost %s: login as %s: %w", m.host, m.user, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return nil, fmt.Errorf("smtphost %s: MAIL FROM %s: %w", m.host, from, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			refused = append(refused, r+" ("+err.Error()+")")
		}
	}
	if len(refused) == len(to) {
		return nil, fmt.Errorf("smtphost %s refused every recipient: %s", m.host, strings.Join(refused, ", "))
	}
	w, err := c.Data()
	if err != nil {
		return nil, fmt.Errorf("smtphost %s: DATA: %w", m.host, err)
	}
	if _, err := w.Write(msg); err != nil {
		return nil, fmt.Errorf("smtphost %s: %w", m.host, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("smtphost %s: message refused: %w", m.host, err)
	}
	if err := c.Quit(); err != nil && !errors.Is(err, net.ErrClosed) {
		return nil, fmt.Errorf("smtphost %s: QUIT: %w", m.host, err)
	}
	return refused, nil
}

// faultClass is the name of Koji's exception class for a fault code, as
// kojid's "%s: %s" % (exctype, value) shows it.
func faultClass(code int) string {
	names := map[int]string{1000: "GenericError", 1001: "LockError", 1002: "AuthError", 1003: "TagError",
		1004: "ActionNotAllowed", 1005: "BuildError", 1006: "AuthLockError", 1007: "AuthExpired",
		1008: "SequenceError", 1009: "RetryError", 1010: "PreBuildError", 1011: "PostBuildError",
		1012: "BuildrootError", 1013: "FunctionDeprecated", 1014: "ServerOffline", 1019: "ParameterError",
		1020: "ImportError", 1021: "ConfigurationError", 1024: "NameValidationError"}
	if n, ok := names[code]; ok {
		return n
	}
	return "GenericError"
}
