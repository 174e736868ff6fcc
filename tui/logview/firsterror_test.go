package logview

import (
	"strings"
	"testing"
)

// Excerpts in the shape of real Koji build.log and root.log files.

const mockHead = `Mock Version: 5.9
ENTER ['do_with_status'](['bash', '--login', '-c', '/usr/bin/rpmbuild -bb --noclean --target x86_64 --nodeps /builddir/build/SPECS/tinyparse.spec'], chrootPath='/var/lib/mock/f40-build-4242-1717/root'env={'TERM': 'vt100', 'SHELL': '/bin/bash', 'HOME': '/builddir', 'LANG': 'C.UTF-8'}shell=Falselogger=<mockbuild.trace_decorator.getLog object at 0x7f3e>timeout=86400uid=1000gid=425user='mockbuild'nspawn_args=[]unshare_net=TrueprintOutput=False)
Building target platforms: x86_64
Building for target x86_64
setting SOURCE_DATE_EPOCH=1714521600
Executing(%prep): /bin/sh -e /var/tmp/rpm-tmp.Xq2mTk
+ umask 022
+ cd /builddir/build/BUILD
+ rm -rf tinyparse-1.4.2
+ /usr/lib/rpm/rpmuncompress -x /builddir/build/SOURCES/tinyparse-1.4.2.tar.gz
+ STATUS=0
+ '[' 0 -ne 0 ']'
+ cd tinyparse-1.4.2
+ RPM_EC=0
++ jobs -p
+ exit 0
`

const configureNoise = `Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.8wJ3dP
+ umask 022
+ cd /builddir/build/BUILD/tinyparse-1.4.2
+ CFLAGS='-O2 -flto=auto -ffat-lto-objects -fexceptions -g -grecord-gcc-switches -pipe -Wall -Werror=format-security -Wp,-U_FORTIFY_SOURCE,-D_FORTIFY_SOURCE=3 -Wp,-D_GLIBCXX_ASSERTIONS -specs=/usr/lib/rpm/redhat/redhat-hardened-cc1 -fstack-protector-strong -m64 -mtune=generic'
+ export CFLAGS
+ ./configure --build=x86_64-redhat-linux-gnu --host=x86_64-redhat-linux-gnu --prefix=/usr --disable-dependency-tracking
checking for a BSD-compatible install... /usr/bin/install -c
checking whether build environment is sane... yes
checking for gcc... gcc
checking whether the C compiler works... yes
checking for gcc option to enable C11 features... none needed
checking for strerror_r... yes
checking whether strerror_r returns char *... yes
checking for error_at_line... yes
checking whether gcc accepts -Werror=format-security... yes
checking for library containing dlopen... none required
configure: creating ./config.status
config.status: creating Makefile
config.status: creating src/error.h
config.status: executing depfiles commands
`

const compileOK = `+ /usr/bin/make -O -j4 V=1 VERBOSE=1
make  all-recursive
make[1]: Entering directory '/builddir/build/BUILD/tinyparse-1.4.2'
Making all in src
make[2]: Entering directory '/builddir/build/BUILD/tinyparse-1.4.2/src'
gcc -DHAVE_CONFIG_H -I. -I..    -O2 -flto=auto -ffat-lto-objects -fexceptions -g -pipe -Wall -Werror=format-security -DTP_ERROR_LIMIT=20 -c -o lexer.o ../src/lexer.c
../src/lexer.c: In function ‘lex_number’:
../src/lexer.c:88:13: warning: unused variable ‘sign’ [-Wunused-variable]
   88 |         int sign = 1;
      |             ^~~~
libtool: compile:  gcc -DHAVE_CONFIG_H -I. -O2 -Werror=format-security -c ../src/error.c  -fPIC -DPIC -o .libs/error.o
`

const gccFailure = mockHead + configureNoise + compileOK + `gcc -DHAVE_CONFIG_H -I. -I..    -O2 -flto=auto -ffat-lto-objects -fexceptions -g -pipe -Wall -Werror=format-security -c -o parse.o ../src/parse.c
../src/parse.c: In function ‘parse_expr’:
../src/parse.c:212:9: error: ‘tok’ undeclared (first use in this function); did you mean ‘tk’?
  212 |         tok = next_token(p);
      |         ^~~
      |         tk
../src/parse.c:212:9: note: each undeclared identifier is reported only once for each function it appears in
../src/parse.c:230:5: error: too few arguments to function ‘emit’
make[2]: *** [Makefile:451: parse.o] Error 1
make[2]: Leaving directory '/builddir/build/BUILD/tinyparse-1.4.2/src'
make[1]: *** [Makefile:389: all-recursive] Error 1
make[1]: Leaving directory '/builddir/build/BUILD/tinyparse-1.4.2'
make: *** [Makefile:321: all] Error 2
error: Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)


RPM build errors:
    Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)
Child return code was: 1
EXCEPTION: [Error('Command failed: \n # bash --login -c /usr/bin/rpmbuild -bb --noclean --target x86_64 --nodeps /builddir/build/SPECS/tinyparse.spec\n', 1)]
Traceback (most recent call last):
  File "/usr/lib/python3.12/site-packages/mockbuild/trace_decorator.py", line 93, in trace
    result = func(*args, **kw)
mockbuild.exception.Error: Command failed:
`

const installOK = `Executing(%install): /bin/sh -e /var/tmp/rpm-tmp.q81Lfa
+ umask 022
+ cd /builddir/build/BUILD/tinyparse-1.4.2
+ /usr/bin/make install DESTDIR=/builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64 'INSTALL=/usr/bin/install -p'
 /usr/bin/mkdir -p '/builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/bin'
  /bin/sh ../libtool   --mode=install /usr/bin/install -p tinyparse '/builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/bin'
+ /usr/lib/rpm/check-buildroot
+ /usr/lib/rpm/redhat/brp-ldconfig
+ /usr/lib/rpm/brp-compress
+ /usr/lib/rpm/brp-strip /usr/bin/strip
+ grep -rl 'fatal error:' /builddir/build/BUILD/tinyparse-1.4.2/build.log || :
+ /usr/lib/rpm/check-rpaths
`

const filesMissing = mockHead + configureNoise + compileOK + installOK + `Processing files: tinyparse-1.4.2-1.fc40.x86_64
error: File not found: /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/bin/tinyparse-cli
Executing(%doc): /bin/sh -e /var/tmp/rpm-tmp.dJ9v2a
+ umask 022
+ DOCDIR=/builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/share/doc/tinyparse
+ exit 0
Provides: tinyparse = 1.4.2-1.fc40 tinyparse(x86-64) = 1.4.2-1.fc40
Requires(rpmlib): rpmlib(CompressedFileNames) <= 3.0.4-1 rpmlib(FileDigests) <= 4.6.0-1
Checking for unpackaged file(s): /usr/lib/rpm/check-files /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64


RPM build errors:
    File not found: /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/bin/tinyparse-cli
Child return code was: 1
`

const unpackaged = mockHead + compileOK + installOK + `Processing files: tinyparse-1.4.2-1.fc40.x86_64
Checking for unpackaged file(s): /usr/lib/rpm/check-files /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64
error: Installed (but unpackaged) file(s) found:
   /usr/share/man/man1/tinyparse.1.gz


RPM build errors:
    Installed (but unpackaged) file(s) found:
   /usr/share/man/man1/tinyparse.1.gz
Child return code was: 1
`

const checkFailure = mockHead + compileOK + installOK + `Executing(%check): /bin/sh -e /var/tmp/rpm-tmp.Ue8d1x
+ umask 022
+ cd /builddir/build/BUILD/tinyparse-1.4.2
+ make check
Making check in tests
make[1]: Entering directory '/builddir/build/BUILD/tinyparse-1.4.2/tests'
make  check-TESTS
PASS: test-lexer
PASS: test-error-recovery
XFAIL: test-unicode-idents
FAIL: test-parse-nested
ERROR: test-roundtrip
============================================================================
Testsuite summary for tinyparse 1.4.2
============================================================================
# TOTAL: 5
# PASS:  2
# SKIP:  0
# XFAIL: 1
# FAIL:  1
# XPASS: 0
# ERROR: 1
============================================================================
See tests/test-suite.log
Please report to https://github.com/example/tinyparse/issues
============================================================================
make[3]: *** [Makefile:812: test-suite.log] Error 1
make[2]: *** [Makefile:920: check-TESTS] Error 2
make[1]: *** [Makefile:1010: check-am] Error 2
make: *** [Makefile:478: check-recursive] Error 1
error: Bad exit status from /var/tmp/rpm-tmp.Ue8d1x (%check)


RPM build errors:
    Bad exit status from /var/tmp/rpm-tmp.Ue8d1x (%check)
`

const pytestFailure = mockHead + installOK + `Executing(%check): /bin/sh -e /var/tmp/rpm-tmp.pT0wq1
+ umask 022
+ /usr/bin/python3 -m pytest -v
============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-7.4.3, pluggy-1.3.0 -- /usr/bin/python3
rootdir: /builddir/build/BUILD/tinyparse-1.4.2
collecting ... collected 3 items

tests/test_parse.py::test_simple PASSED                                  [ 33%]
tests/test_parse.py::test_error_messages PASSED                          [ 66%]
tests/test_parse.py::test_nested FAILED                                  [100%]

=================================== FAILURES ===================================
_________________________________ test_nested __________________________________

    def test_nested():
>       assert parse("((1))") == 1
E       AssertionError: assert None == 1
E        +  where None = parse('((1))')

tests/test_parse.py:14: AssertionError
=========================== short test summary info ============================
FAILED tests/test_parse.py::test_nested - AssertionError: assert None == 1
========================= 1 failed, 2 passed in 0.05s ==========================
error: Bad exit status from /var/tmp/rpm-tmp.pT0wq1 (%check)
`

const makeOnly = mockHead + `Executing(%check): /bin/sh -e /var/tmp/rpm-tmp.Zz10aq
+ umask 022
+ cd /builddir/build/BUILD/tinyparse-1.4.2
+ make check
./run-tests.sh --quiet
make: *** [Makefile:55: check] Error 1
error: Bad exit status from /var/tmp/rpm-tmp.Zz10aq (%check)
`

const missingTool = mockHead + `Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.aB3x9d
+ make -j4 docs
sphinx-build -b man doc doc/_build/man
/bin/sh: line 1: sphinx-build: command not found
make: *** [Makefile:40: docs] Error 127
error: Bad exit status from /var/tmp/rpm-tmp.aB3x9d (%build)
`

const pythonFailure = mockHead + `Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.Ad81kq
+ umask 022
+ cd /builddir/build/BUILD/tinyparse-1.4.2
+ CFLAGS='-O2 -flto=auto -ffat-lto-objects -fexceptions -g -grecord-gcc-switches -pipe -Wall -Werror=format-security'
+ /usr/bin/python3 setup.py build '--executable=/usr/bin/python3 -sP'
Traceback (most recent call last):
  File "/builddir/build/BUILD/tinyparse-1.4.2/setup.py", line 3, in <module>
    from setuptools_scm import get_version
ModuleNotFoundError: No module named 'setuptools_scm'
error: Bad exit status from /var/tmp/rpm-tmp.Ad81kq (%build)
`

var configureFailure = mockHead + strings.TrimSuffix(configureNoise, `configure: creating ./config.status
config.status: creating Makefile
config.status: creating src/error.h
config.status: executing depfiles commands
`) + `checking for pkg-config... /usr/bin/pkg-config
checking for LIBXML... no
configure: error: Package requirements (libxml-2.0 >= 2.9) were not met:

Package 'libxml-2.0', required by 'virtual:world', not found
error: Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)
`

const linkFailure = mockHead + compileOK + `gcc -O2 -flto=auto -Werror=format-security -Wl,-z,relro -Wl,--as-needed -o tinyparse main.o parse.o lexer.o -lm
/usr/bin/ld: /tmp/ccQ2a9Zk.ltrans0.ltrans.o: in function ‘main’:
<artificial>:(.text.startup+0x1a): undefined reference to ‘next_token’
collect2: error: ld returned 1 exit status
make[2]: *** [Makefile:402: tinyparse] Error 1
error: Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)
`

const ninjaFailure = mockHead + `+ /usr/bin/meson compile -C redhat-linux-build -j 4 --verbose
ninja: Entering directory ` + "`" + `/builddir/build/BUILD/tinyparse-1.4.2/redhat-linux-build'
[45/112] gcc -Isrc/libtinyparse.so.1.4.2.p -Isrc -I../src -fdiagnostics-color=always -Wall -O2 -Werror=format-security -fPIC -c ../src/lexer.c
FAILED: src/libtinyparse.so.1.4.2.p/parse.c.o
gcc -Isrc/libtinyparse.so.1.4.2.p -Isrc -I../src -fdiagnostics-color=always -D_FILE_OFFSET_BITS=64 -Wall -O2 -Werror=format-security -fPIC -MD -o src/libtinyparse.so.1.4.2.p/parse.c.o -c ../src/parse.c
../src/parse.c: In function ‘parse_expr’:
../src/parse.c:97:5: error: implicit declaration of function ‘lex_peek’ [-Wimplicit-function-declaration]
   97 |     lex_peek(p);
      |     ^~~~~~~~
ninja: build stopped: subcommand failed.
error: Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)
`

const rustFailure = mockHead + `+ /usr/bin/cargo build --release -j4 -Z avoid-dev-deps
   Compiling tinyparse v1.4.2 (/builddir/build/BUILD/tinyparse-1.4.2)
warning: unused variable: ` + "`sign`" + `
error[E0425]: cannot find value ` + "`tok`" + ` in this scope
   --> src/parse.rs:212:9
For more information about this error, try ` + "`rustc --explain E0425`" + `.
error: could not compile ` + "`tinyparse`" + ` (lib) due to 1 previous error
error: Bad exit status from /var/tmp/rpm-tmp.k2Lz0a (%build)
`

const installFailure = mockHead + `Executing(%install): /bin/sh -e /var/tmp/rpm-tmp.q81Lfa
+ install -D -m 0644 contrib/tinyparse.service /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/lib/systemd/system/tinyparse.service
install: cannot stat 'contrib/tinyparse.service': No such file or directory
error: Bad exit status from /var/tmp/rpm-tmp.q81Lfa (%install)
`

const rootLogDnf4 = `INFO buildroot.py:491:  Mock Version: 5.9
DEBUG util.py:624:  child environment: None
DEBUG util.py:542:  Executing command: ['/usr/bin/dnf-3', '--installroot', '/var/lib/mock/f40-build-4242-1717/root/', 'builddep', '/builddir/build/SRPMS/tinyparse-1.4.2-1.fc40.src.rpm'] with env {'LANG': 'C.UTF-8'}
DEBUG util.py:446:  build                                            45 MB/s |  12 MB     00:00
DEBUG util.py:446:  No matching package to install: 'libxml2-devel >= 2.13'
DEBUG util.py:446:  Not all dependencies satisfied
DEBUG util.py:446:  Error: Some packages could not be found.
DEBUG util.py:624:  Child return code was: 1
`

const rootLogDnf5 = `DEBUG util.py:446:  Updating and loading repositories:
DEBUG util.py:446:   build                                  100% |  45.2 MiB/s |  12.0 MiB |  00m00s
DEBUG util.py:446:  Repositories loaded.
DEBUG util.py:446:  Failed to resolve the transaction:
DEBUG util.py:446:  No match for argument: libxml2-devel >= 2.13
DEBUG util.py:446:  You can try to add to command line:
DEBUG util.py:446:    --skip-unavailable to skip unavailable packages
DEBUG util.py:624:  Child return code was: 1
`

const rootLogConflict = `DEBUG util.py:446:  Error: 
DEBUG util.py:446:   Problem: conflicting requests
DEBUG util.py:446:    - nothing provides libbar.so.3()(64bit) needed by foo-1.0-1.fc40.x86_64
DEBUG util.py:624:  Child return code was: 1
`

const oldMockStderr = mockHead + `BUILDSTDERR: ../src/parse.c:212:9: error: 'tok' undeclared (first use in this function)
make: *** [Makefile:321: all] Error 2
BUILDSTDERR: error: Bad exit status from /var/tmp/rpm-tmp.8wJ3dP (%build)
`

const cleanBuild = mockHead + configureNoise + compileOK + installOK + `Executing(%check): /bin/sh -e /var/tmp/rpm-tmp.Ue8d1x
+ make check || :
PASS: test-error-recovery
# FAIL:  0
# ERROR: 0
not ok 4 - unicode identifiers # TODO not implemented
Wrote: /builddir/build/RPMS/tinyparse-1.4.2-1.fc40.x86_64.rpm
Child return code was: 0
`

func TestFirstError(t *testing.T) {
	tests := []struct {
		name string
		log  string
		want string // the line FirstError should find; "" for none
	}{
		{"gcc error in %build", gccFailure, "../src/parse.c:212:9: error: ‘tok’ undeclared (first use in this function); did you mean ‘tk’?"},
		{"missing file in %files", filesMissing, "error: File not found: /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/bin/tinyparse-cli"},
		{"unpackaged files", unpackaged, "error: Installed (but unpackaged) file(s) found:"},
		{"automake %check", checkFailure, "FAIL: test-parse-nested"},
		{"pytest %check", pytestFailure, "E       AssertionError: assert None == 1"},
		{"make error only", makeOnly, "make: *** [Makefile:55: check] Error 1"},
		{"missing tool", missingTool, "/bin/sh: line 1: sphinx-build: command not found"},
		{"python traceback", pythonFailure, "Traceback (most recent call last):"},
		{"configure error after noise", configureFailure, "configure: error: Package requirements (libxml-2.0 >= 2.9) were not met:"},
		{"undefined reference", linkFailure, "<artificial>:(.text.startup+0x1a): undefined reference to ‘next_token’"},
		{"ninja and gcc", ninjaFailure, "../src/parse.c:97:5: error: implicit declaration of function ‘lex_peek’ [-Wimplicit-function-declaration]"},
		{"rust", rustFailure, "error[E0425]: cannot find value `tok` in this scope"},
		{"install cannot stat", installFailure, "install: cannot stat 'contrib/tinyparse.service': No such file or directory"},
		{"root.log dnf4", rootLogDnf4, "DEBUG util.py:446:  No matching package to install: 'libxml2-devel >= 2.13'"},
		{"root.log dnf5", rootLogDnf5, "DEBUG util.py:446:  No match for argument: libxml2-devel >= 2.13"},
		{"root.log conflict", rootLogConflict, "DEBUG util.py:446:   Problem: conflicting requests"},
		{"old mock BUILDSTDERR", oldMockStderr, "BUILDSTDERR: ../src/parse.c:212:9: error: 'tok' undeclared (first use in this function)"},
		{"rpmbuild only", "Building target platforms: x86_64\nerror: Bad exit status from /var/tmp/rpm-tmp.1 (%build)\n", "error: Bad exit status from /var/tmp/rpm-tmp.1 (%build)"},
		{"successful build, noise only", cleanBuild, ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(tt.log, "\n")
			got, ok := FirstError(lines)
			gotLine := ""
			if ok {
				gotLine = lines[got]
			}
			if gotLine != tt.want || ok != (tt.want != "") {
				t.Errorf("FirstError(%s) = %d, %v (%q), want %q", tt.name, got, ok, gotLine, tt.want)
			}
		})
	}
}

// Through the pane: gcc's colour codes are stripped on the way in, and the
// error line is still found.
func TestFirstErrorThroughSanitizer(t *testing.T) {
	m := newPane(Options{})
	colored := strings.Replace(ninjaFailure, "../src/parse.c:97:5: error:",
		"\x1b[01m\x1b[K../src/parse.c:97:5:\x1b[m\x1b[K \x1b[01;31m\x1b[Kerror:\x1b[m\x1b[K", 1)
	m.Append([]byte(strings.ReplaceAll(colored, "\n", "\r\n")))
	i, ok := FirstError(held(m))
	if !ok || !strings.HasPrefix(held(m)[i], "../src/parse.c:97:5: error: implicit declaration") {
		t.Errorf("FirstError over sanitized lines = %d, %v, want the gcc error", i, ok)
	}
}
