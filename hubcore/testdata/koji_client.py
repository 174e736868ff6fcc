"""Drive a kojigo hub with Python's xmlrpc.client, as Koji's own client does
(allow_none, Koji-Session-* headers, keyword arguments as a __starstar struct),
and print what each call returned as JSON shapes for the Go test to compare
with a real Koji hub's recorded answers."""
import json, os, ssl, sys, xmlrpc.client as x

HUB = os.environ["HUB_URL"]          # https://127.0.0.1:PORT/kojihub
CA = os.environ["HUB_CA"]
CERT = os.environ["CLIENT_PEM"]       # builder1's cert+key, Koji's layout

ctx = ssl.create_default_context(cafile=CA)
ctx.load_cert_chain(CERT)
anon_ctx = ssl.create_default_context(cafile=CA)


class Session(x.SafeTransport):
    """A transport that sends Koji's session headers with a callnum."""

    def __init__(self, context):
        super().__init__(context=context)
        self.sinfo = None
        self.callnum = 0

    def send_headers(self, connection, headers):
        super().send_headers(connection, headers)
        if self.sinfo:
            self.callnum += 1
            connection.putheader("Koji-Session-Id", str(self.sinfo["session-id"]))
            connection.putheader("Koji-Session-Key", self.sinfo["session-key"])
            connection.putheader("Koji-Session-Callnum", str(self.callnum))


def proxy(context=anon_ctx, url=HUB):
    t = Session(context)
    return x.ServerProxy(url, transport=t, allow_none=True, use_builtin_types=True), t


def kw(**k):
    k["__starstar"] = True
    return k


def shape(v):
    if isinstance(v, dict):
        return {k: shape(w) for k, w in sorted(v.items())}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    return type(v).__name__


out = {"responses": {}, "faults": {}}


def rec(name, v):
    out["responses"][name] = shape(v)
    return v


def fault(label, fn, *a):
    try:
        fn(*a)
    except x.Fault as f:
        out["faults"][label] = {"code": f.faultCode, "string": f.faultString}
        return
    out["faults"][label] = None


anon, _ = proxy()
rec("getKojiVersion", anon.getKojiVersion())
rec("listChannels", anon.listChannels())
rec("getChannel", anon.getChannel("createrepo"))
rec("getUser", anon.getUser("kojiadmin"))
rec("listUsers", anon.listUsers())
rec("getAllPerms", anon.getAllPerms())

admin, at = proxy()
at.sinfo = rec("login", admin.login("kojiadmin", os.environ["ADMIN_PW"], kw(opts=None)))
rec("hasPerm", admin.hasPerm("admin"))
rec("getLoggedInUser", admin.getLoggedInUser())
rec("getSessionInfo", admin.getSessionInfo())
admin.addHost("builder1", ["x86_64", "i686"])
rec("getHost", admin.getHost("builder1"))
rec("listHosts", admin.listHosts())
res = admin.multiCall([{"methodName": "getHost", "params": ["builder1"]}, {"methodName": "getHost", "params": []}])
out["multiCall"] = [shape(r) for r in res]

# the builder logs in with its certificate, as kojid does
b, bt = proxy(ctx, HUB + "/ssllogin")
bt.sinfo = b.sslLogin()
b, bt2 = proxy(ctx)
bt2.sinfo = bt.sinfo
b.exclusiveSession(kw(force=True))
rec("host.getID", b.host.getID())
rec("host.getHost", b.host.getHost())
b.host.updateHost(0.0, True, kw(data={"methods": ["build"], "maxjobs": 10, "cpus": 4}))
u = b.getLoggedInUser()
out["ssl_user"] = {"name": u["name"], "usertype": u["usertype"], "authtype": u["authtype"]}
rec("subsession", admin.subsession())

# the faults Koji answers
fault("raw-fault-missing-args.txt", anon.getHost)
fault("raw-fault-wrong-argtype.txt", anon.getHost, ["not", "a", "host"])
fault("fault-invalid-method.txt", anon.noSuchMethod)
bad, badt = proxy()
badt.sinfo = {"session-id": 99999, "session-key": "99999-bogus"}
fault("raw-fault-bad-session-key.txt", bad.getLoggedInUser)
fault("fault-host.getID-anon.txt", anon.host.getID)
fault("fault-host.getID-as-normal-user.txt", admin.host.getID)
fault("raw-fault-login-badpassword.txt", anon.login, "kojiadmin", "wrongpass")
fault("fault-getHost-nonexistent-strict.txt", anon.getHost, "nosuchhost", kw(strict=True))
b2, b2t = proxy(ctx, HUB + "/ssllogin")
b2t.sinfo = b2.sslLogin()
fault("session-fault-exclusive-locked.txt", b2.exclusiveSession)
alice, alt = proxy()
alt.sinfo = alice.login("alice", os.environ["ADMIN_PW"])
fault("fault-add-host-nonadmin.txt", alice.addHost, "builder2", ["x86_64"])
json.dump(out, sys.stdout, indent=1, sort_keys=True)
