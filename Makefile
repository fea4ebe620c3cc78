# SPDX-License-Identifier: GPL-2.0-or-later
# Makefile - build, test, install vssd (GNU make; every library through pkg-config)

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
UNITDIR  ?= /lib/systemd/system
DBUSDATADIR ?= /usr/share/dbus-1
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

PKGS := devmapper dbus-1 libsystemd json-c uuid mount blkid inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Werror=implicit-function-declaration
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
CFLAGS ?=
SAN_FLAGS ?=
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(OPT) -I. -pthread -MMD -MP \
	$(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SAN_FLAGS) $(LDFLAGS)

COMMON_SRCS := $(filter-out common/test-%.c,$(wildcard common/*.c))
DAEMON_SRCS := $(filter-out daemon/main.c daemon/test-%.c,$(wildcard daemon/*.c))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
UNIT_SRCS := $(wildcard common/test-*.c daemon/test-*.c client/test-*.c client/libvsswriter/test-*.c)

V ?= 0
ifeq ($(V),0)
Q := @
endif

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJS := $(call obj,$(COMMON_SRCS))
DAEMON_OBJS := $(call obj,$(DAEMON_SRCS)) $(BUILD)/gen/introspect-data.o
TESTLIB_OBJS := $(call obj,$(TESTLIB_SRCS))
UNIT_BINS := $(patsubst %.c,$(BUILD)/unit/%,$(notdir $(UNIT_SRCS)))

TOOLS := $(BUILD)/vssd $(BUILD)/vssd-dmsnap-tool

.PHONY: old-vssd
.PHONY: all deps check check-unit check-units check-vm check-vm-systemd check-long asan asan-vssd \
	format format-check install clean demo bench
all: $(TOOLS) $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/libdaemon.a: $(DAEMON_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# The API description, served by Introspect, is the XML file itself, embedded at build time.
$(BUILD)/gen/introspect-data.c: dbus/org.vssd.ShadowCopy1.xml
	@mkdir -p $(dir $@)
	$(Q){ echo '/* generated from $< */'; echo 'extern const char vssd_introspect_xml[];'; \
	  echo 'const char vssd_introspect_xml[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@

$(BUILD)/gen/introspect-data.o: $(BUILD)/gen/introspect-data.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/vssd: $(BUILD)/daemon/main.o $(BUILD)/libdaemon.a $(BUILD)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/vssd-dmsnap-tool: $(BUILD)/tests/dmsnap-tool.o $(BUILD)/tests/lib/dmsnap-blocking.o \
		$(BUILD)/libdaemon.a $(BUILD)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests: test-<module>.c next to its module, linked with everything plus the fakes
define unit_rule
$(BUILD)/unit/$(basename $(notdir $(1))): $(call obj,$(1)) $(TESTLIB_OBJS) $(BUILD)/libdaemon.a \
		$(BUILD)/libcommon.a
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(CHECK_LIBS)
endef
$(foreach s,$(UNIT_SRCS),$(eval $(call unit_rule,$(s))))

check: check-unit check-units check-vm check-vm-systemd

check-unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi; echo "unit tests passed"

# The integration tier runs once per guest kernel (tests/vm/README.md): Debian 12's default 6.1
# and the 6.12 it also carries, both guests at once (VM_SERIAL=1: one after the other; logs in
# $(BUILD)/check-vm-KERNEL.log). VM_KERNELS="6.12" (or check-vm-6.12) for one of them.
VM_KERNELS ?= 6.1 6.12
check-vm: all old-vssd
	VSSD_BUILD=$${VSSD_BUILD:-$(abspath $(BUILD))} tools/check-vm-kernels.sh $(VM_KERNELS)

check-vm-%: all old-vssd
	VSSD_VM_KERNEL=$* tests/vm/check-vm

# The vssd of state format 1 (commit a7d25be, before the providers), built from git history into
# $(BUILD)/old/: tests/integration/63-state-format-migration.sh starts it, then today's vssd on the
# state it left. It needs the repository's history (a clone, not an exported tree).
OLD_VSSD_COMMIT ?= a7d25be
old-vssd: $(BUILD)/old/vssd
$(BUILD)/old/vssd:
	@git rev-parse -q --verify '$(OLD_VSSD_COMMIT)^{commit}' >/dev/null 2>&1 || { \
		echo "old-vssd: commit $(OLD_VSSD_COMMIT) is not in this tree's git history; the" \
		     "state-format migration test (63-state-format-migration) builds the vssd of" \
		     "state format 1 from it: run make in a git clone with its history" >&2; exit 1; }
	@rm -rf $(BUILD)/old/src && mkdir -p $(BUILD)/old/src
	git archive $(OLD_VSSD_COMMIT) | tar -x -C $(BUILD)/old/src
	$(MAKE) --no-print-directory -C $(BUILD)/old/src BUILD=$(abspath $(BUILD))/old/build CI= \
		$(abspath $(BUILD))/old/build/vssd
	cp $(abspath $(BUILD))/old/build/vssd $@

# The units: systemd-analyze verify, and vssd.service's exposure as systemd-analyze security
# --offline=true scores it, at most UNIT_EXPOSURE_MAX tenths (3.6 today).
UNIT_EXPOSURE_MAX ?= 40
check-units: $(BUILD)/vssd $(BUILD)/vssd-hook-writer
	tools/check-units.sh $(abspath $(BUILD)) $(UNIT_EXPOSURE_MAX)

# The units as systemd runs them: one boot with systemd as PID 1 (tests/vm/run --systemd).
check-vm-systemd: all
	VSSD_BUILD=$(abspath $(BUILD)) tests/vm/run --systemd -- \
		tests/integration-systemd/60-units.sh

# The ASan + UBSan build: make asan's, and the vssd that long/38-bus-fuzz fuzzes (check-long)
ASAN_BUILD ?= $(BUILD)/asan
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g -fno-omit-frame-pointer" \
	SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
VSSD_ASAN_BUILD ?= $(abspath $(ASAN_BUILD))
export VSSD_ASAN_BUILD

asan-vssd:
	@$(ASAN_MAKE) $(ASAN_BUILD)/vssd

check-long: all asan-vssd
	TEST_LONG=1 TEST_TIMEOUT=$${TEST_TIMEOUT:-1800} tests/vm/check-vm

# the unit tier, then the guest tier with every program of ours sanitized; a report stops the
# program (halt_on_error), so that the test that ran it fails. Leaks are looked for in vssd by
# 38-bus-fuzz, not at the exit of every short-lived program.
asan:
	@$(ASAN_MAKE) check-unit all
	VSSD_BUILD=$(VSSD_ASAN_BUILD) ASAN_OPTIONS=$${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0} \
		UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		TEST_TIMEOUT=$${TEST_TIMEOUT:-900} tests/vm/check-vm

deps:
	@tools/deps.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: clean"

# make demo (README's first command): the packages first, since a fresh machine lacks what the
# build needs (then a sub-make, which asks pkg-config again), the build, then the guided tour,
# which runs in the test guest when this kernel has no device-mapper (tools/demo.sh).
demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	tools/demo.sh

clean:
	rm -rf $(BUILD)

# ---- libvsswriter
# The writer library (LGPL-2.1-or-later): its own -fPIC objects, hidden visibility, and the version
# script as the only export list; common/ files compiled in are LGPL too. Then its two programs
# (GPL, found next to the library through $ORIGIN) and the extra inputs of its unit tests, which
# otherwise use the generic unit_rule above.
LIBVSSWRITER_SONAME  := libvsswriter.so.1
LIBVSSWRITER_VERSION := 1.1.0
LIBVSSWRITER_SRCS    := $(addprefix client/libvsswriter/,vss-writer.c vss-writer-loop.c \
	vss-writer-register.c vss-writer-event.c vss-writer-msg.c \
	vss-writer-metadata.c) \
	common/vssid.c common/valid.c common/strv.c common/escape.c
# the D-Bus message helpers, LGPL like the library (common/busmsg.h), for its encoding
LIBVSSWRITER_SRCS    += common/busmsg.c
LIBVSSWRITER_OBJS    := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIBVSSWRITER_SRCS))
LIBVSSWRITER_SYM     := client/libvsswriter/libvsswriter.sym
LIBVSSWRITER_LIBS    := $(shell pkg-config --libs dbus-1 uuid 2>/dev/null)
LIBVSSWRITER         := $(BUILD)/libvsswriter.so $(BUILD)/$(LIBVSSWRITER_SONAME)
WRITER_PROGS         := $(BUILD)/vssd-hook-writer $(BUILD)/vssd-example-writer

.PHONY: libvsswriter install-libvsswriter
all: libvsswriter
libvsswriter: $(LIBVSSWRITER) $(WRITER_PROGS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# -z defs cannot hold under the sanitizers, whose runtime the executable brings
$(BUILD)/$(LIBVSSWRITER_SONAME): $(LIBVSSWRITER_OBJS) $(LIBVSSWRITER_SYM)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(LIBVSSWRITER_SONAME) \
		-Wl,--version-script=$(LIBVSSWRITER_SYM) $(if $(SAN_FLAGS),,-Wl,-z,defs) \
		-o $@ $(LIBVSSWRITER_OBJS) $(LIBVSSWRITER_LIBS)

$(BUILD)/libvsswriter.so: $(BUILD)/$(LIBVSSWRITER_SONAME)
	$(Q)ln -sf $(LIBVSSWRITER_SONAME) $@

$(BUILD)/vssd-%-writer: $(BUILD)/client/vssd-%-writer.o $(BUILD)/libcommon.a $(LIBVSSWRITER)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,-rpath,'$$ORIGIN' -o $@ $< $(BUILD)/libcommon.a \
		$(BUILD)/libvsswriter.so $(LIBVSSWRITER_LIBS)

# test-vss-writer links the shared library (so it sees the exported API only); the program tests
# run the programs
$(BUILD)/unit/test-vss-writer: $(BUILD)/libvsswriter.so
$(BUILD)/unit/test-vss-writer: private LDFLAGS += -Wl,-rpath,$(abspath $(BUILD))
$(BUILD)/unit/test-vssd-hook-writer $(BUILD)/unit/test-vssd-example-writer: | $(WRITER_PROGS)

DOCDIR ?= $(PREFIX)/share/doc/vssd
install: install-libvsswriter
# the .pc file and the unit get the install's paths
install-libvsswriter: libvsswriter
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/vssd/writers.d \
		$(DESTDIR)$(DOCDIR)/examples/hooks
	install -m 0755 $(BUILD)/$(LIBVSSWRITER_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIBVSSWRITER_SONAME) $(DESTDIR)$(LIBDIR)/libvsswriter.so
	install -m 0644 client/libvsswriter/vss-writer.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIBVSSWRITER_VERSION)|' \
		-e '/^# /d' client/libvsswriter/libvsswriter.pc.in \
		>$(DESTDIR)$(PKGCONFIGDIR)/libvsswriter.pc
	install -m 0755 $(BUILD)/vssd-hook-writer $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/vssd-example-writer $(DESTDIR)$(BINDIR)/
	install -m 0644 doc/libvsswriter.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 doc/vssd-hook-writer.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0755 doc/examples/hooks/10-fsfreeze doc/examples/hooks/20-db-flush \
		$(DESTDIR)$(DOCDIR)/examples/hooks/
	sed 's|@SBINDIR@|$(SBINDIR)|' systemd/vssd-hook-writer.service.in \
		>$(DESTDIR)$(UNITDIR)/vssd-hook-writer.service
# ---- end libvsswriter

# ---- vssctl
# The command-line requester: client/vssctl.c (main) on libvssctl.a, which holds its modules
# client/vssctl-*.c and client/busutil.c (libdbus client helpers on common/busmsg.c), so that
# client/test-vssctl.c links the very same code. The generic unit_rule links libcommon.a before
# anything added here, so the vssctl tests get libvssctl.a and libcommon.a again, in link order,
# through their own PKG_LIBS.
VSSCTL_SRCS  := client/busutil.c $(wildcard client/vssctl-*.c)
VSSCTL_OBJS  := $(call obj,$(VSSCTL_SRCS))
VSSCTL_TESTS := $(BUILD)/unit/test-vssctl $(BUILD)/unit/test-vssctl-bus

.PHONY: install-vssctl
all: $(BUILD)/vssctl

$(BUILD)/libvssctl.a: $(VSSCTL_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/vssctl: $(BUILD)/client/vssctl.o $(BUILD)/libvssctl.a $(BUILD)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(VSSCTL_TESTS): $(BUILD)/libvssctl.a
$(VSSCTL_TESTS): private PKG_LIBS := $(BUILD)/libvssctl.a $(BUILD)/libcommon.a $(PKG_LIBS)

# The bash completion goes where bash-completion looks for it (its .pc file's completionsdir,
# under our PREFIX); its test sources it against this vssctl's usage texts, no vssd needed.
BASHCOMPDIR ?= $(or $(shell pkg-config --define-variable=prefix=$(PREFIX) \
	--variable=completionsdir bash-completion 2>/dev/null),$(PREFIX)/share/bash-completion/completions)

.PHONY: check-completion
check-unit: check-completion
check-completion: $(BUILD)/vssctl
	completion/test-vssctl-completion.sh $(BUILD)

install: install-vssctl
install-vssctl: $(BUILD)/vssctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/vssctl $(DESTDIR)$(BINDIR)/
	install -m 0644 doc/vssctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 completion/vssctl.bash $(DESTDIR)$(BASHCOMPDIR)/vssctl
# ---- end vssctl

# ---- install (daemon)
# vssd and what a system needs to run it: the unit (with the install's paths), the bus policy,
# the activation file and the API description under DBUSDATADIR (/usr/share/dbus-1 whatever the
# PREFIX: dbus-daemon looks nowhere else), the groups the policy names (sysusers.d), the state
# directory, the configuration (the commented example; never over an existing file), the man
# page. vssd has /etc/vssd/vssd.conf and /var/lib/vssd built in: --config and --state-dir (in
# the unit) move them.
SYSUSERSDIR ?= /usr/lib/sysusers.d

.PHONY: install-daemon
install: install-daemon
install-daemon: $(BUILD)/vssd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(DBUSDATADIR)/system.d $(DESTDIR)$(DBUSDATADIR)/system-services \
		$(DESTDIR)$(DBUSDATADIR)/interfaces $(DESTDIR)$(SYSCONFDIR)/vssd \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	install -d -m 0700 $(DESTDIR)$(LOCALSTATEDIR)/lib/vssd
	install -m 0755 $(BUILD)/vssd $(DESTDIR)$(SBINDIR)/
	sed 's|@SBINDIR@|$(SBINDIR)|' systemd/vssd.service.in >$(DESTDIR)$(UNITDIR)/vssd.service
	install -m 0644 systemd/vssd.sysusers $(DESTDIR)$(SYSUSERSDIR)/vssd.conf
	install -m 0644 dbus/org.vssd.ShadowCopy1.conf $(DESTDIR)$(DBUSDATADIR)/system.d/
	install -m 0644 dbus/org.vssd.ShadowCopy1.service $(DESTDIR)$(DBUSDATADIR)/system-services/
	install -m 0644 dbus/org.vssd.ShadowCopy1.xml $(DESTDIR)$(DBUSDATADIR)/interfaces/
	install -m 0644 doc/vssd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 doc/vssd.conf.example $(DESTDIR)$(DOCDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/vssd/vssd.conf ]; then \
		echo "kept the existing $(DESTDIR)$(SYSCONFDIR)/vssd/vssd.conf"; \
	else \
		echo "install -m 0644 doc/vssd.conf.example $(DESTDIR)$(SYSCONFDIR)/vssd/vssd.conf"; \
		install -m 0644 doc/vssd.conf.example $(DESTDIR)$(SYSCONFDIR)/vssd/vssd.conf; \
	fi

# After every piece, on a live system (no DESTDIR): the loader cache, or the writer programs do
# not find libvsswriter.so.1 under /usr/local/lib; then what only the administrator should run.
.PHONY: install-post
install: install-post
install-post: install-libvsswriter install-vssctl install-daemon
	@if [ -z "$(DESTDIR)" ]; then \
		echo ldconfig; ldconfig; \
		echo "next: systemd-sysusers vssd.conf; systemctl daemon-reload;" \
			"systemctl reload dbus; systemctl enable --now vssd"; \
	fi
# ---- end install (daemon)

# ---- Debian packages
# make deb: the .debs of debian/ (vssd, libvsswriter1, libvsswriter-dev, vssd-hook-writer) built
# by dpkg-buildpackage in a copy of the tree under $(DEB_DIR), so that nothing lands in the tree,
# then lintian on them. check-vm-debian: they are installed, used, removed and purged in the
# guest with systemd as PID 1 (tests/integration-systemd/61-debian-package.sh).
DEB_DIR ?= $(BUILD)/deb

.PHONY: deb check-vm-debian
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -co --exclude-standard | while IFS= read -r f; do \
		[ ! -e "$$f" ] || cp -P --parents "$$f" $(DEB_DIR)/src/ || exit 1; done
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error $(DEB_DIR)/*.changes
	rm -rf $(DEB_DIR)/src

check-vm-debian: deb
	VSSD_BUILD=$(abspath $(BUILD)) tests/vm/run --systemd -- \
		tests/integration-systemd/61-debian-package.sh
# ---- end Debian packages

# ---- bench
# make bench: bench/run in the test guest (tests/vm/run; VSSD_TEST_DIRECT=1 runs it on a host
# with device-mapper) prints set creation, hold window, writer fan-out and origin throughput as
# ratios measured in one boot. Timings are reported, never asserted; it fails only when the dm
# ioctl count of one set creation exceeds its gate. Its C helpers live in build/bench/.
BENCH_BINS := $(BUILD)/bench/bench-dbus $(BUILD)/bench/bench-probe $(BUILD)/bench/bench-dmseq

all: $(BENCH_BINS)

$(BUILD)/bench/bench-dbus: $(BUILD)/bench/bench-dbus.o $(BUILD)/libvssctl.a $(BUILD)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/bench-probe $(BUILD)/bench/bench-dmseq: $(BUILD)/bench/%: $(BUILD)/bench/%.o \
		$(BUILD)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# about 24 minutes in the guest (bench/RESULTS.md); VSSD_BENCH_RUNS=5 takes about half
bench: all
	VSSD_BUILD=$(abspath $(BUILD)) VSSD_VM_TIMEOUT=$${VSSD_VM_TIMEOUT:-3600} tests/vm/run bench/run
# ---- end bench

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
