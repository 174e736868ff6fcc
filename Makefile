# kojigo: build every binary with its version, test, install, cross-compile.
#
#   make                 bin/kojihub bin/kojid bin/kojictl bin/kojira bin/kojitop
#   make test            the test suite (what .ci/run runs, without CI's setup)
#   make demo            build, then run a whole farm here: bin/kojictl demo
#   make install         binaries, systemd units, example configs (never overwritten)
#   make cross           bin/linux-arm64/ and bin/linux-arm/ (GOARM=7)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/kojigo
SYSCONFDIR ?= /etc
DESTDIR ?=

LDFLAGS := -X kojigo/internal/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
export CGO_ENABLED := 0

.PHONY: all test demo install cross clean

all:
	$(GO) build $(GOFLAGS_BUILD) -o bin/ ./cmd/...

test:
	$(GO) test -count=1 -timeout 20m ./...

demo: all
	bin/kojictl demo

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	for b in bin/*; do [ -f "$$b" ] && install -m 0755 "$$b" $(DESTDIR)$(BINDIR)/; done
	for u in dist/*.service; do \
		sed 's|/usr/local/bin/|$(BINDIR)/|g; s|/usr/local/share/doc/kojigo/|$(DOCDIR)/|g' "$$u" > $(DESTDIR)$(UNITDIR)/$$(basename "$$u"); \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename "$$u"); \
	done
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/koji-hub $(DESTDIR)$(SYSCONFDIR)/kojid $(DESTDIR)$(SYSCONFDIR)/kojira
	[ -e $(DESTDIR)$(SYSCONFDIR)/koji-hub/hub.conf ] || install -m 0600 dist/hub.conf $(DESTDIR)$(SYSCONFDIR)/koji-hub/hub.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/kojid/kojid.conf ] || install -m 0600 dist/kojid.conf $(DESTDIR)$(SYSCONFDIR)/kojid/kojid.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/kojira/kojira.conf ] || install -m 0600 dist/kojira.conf $(DESTDIR)$(SYSCONFDIR)/kojira/kojira.conf

cross:
	GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_BUILD) -o bin/linux-arm64/ ./cmd/...
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(GOFLAGS_BUILD) -o bin/linux-arm/ ./cmd/...

clean:
	rm -rf bin
