# make install: the programs into $(DESTDIR)$(BINDIR) (PREFIX, BINDIR and
# DESTDIR honoured; the man pages are installed by mk/man.mk under
# $(DESTDIR)$(MANDIR)).
#
# Which build: the static one when `make static` has been run (it is what a
# container image wants: no libc needed in the image), else the dev build
# (built here if missing). Force one with INSTALL_FROM=static or dev.
#   make static && make install DESTDIR=/tmp/img PREFIX=/usr

INSTALL      ?= install
INSTALL_FROM ?= $(if $(wildcard build/static/stint),static,dev)
INSTALL_DIR   = $(if $(filter static,$(INSTALL_FROM)),build/static,$(O))
INSTALL_PROGS = stint stint-peer

install: install-bin

install-bin: $(if $(filter static,$(INSTALL_FROM)),static,$(BINS))
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	@for p in $(INSTALL_PROGS); do \
		echo "$(INSTALL) -m 0755 $(INSTALL_DIR)/$$p $(DESTDIR)$(BINDIR)/$$p"; \
		$(INSTALL) -m 0755 $(INSTALL_DIR)/$$p $(DESTDIR)$(BINDIR)/$$p || exit 1; \
	done

uninstall:
	rm -f $(foreach p,$(INSTALL_PROGS),$(DESTDIR)$(BINDIR)/$(p))
	rm -f $(foreach p,$(wildcard man/*.[0-9]),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))

.PHONY: install install-bin uninstall
