# Man pages: scdoc sources in man/*.scd -> man/stint.8, man/stint-peer.8,
# man/stint.ini.5 (generated, ignored by git). Built by `make` (all) and
# installed by `make install` under $(MANDIR). Needs scdoc (Debian package
# scdoc); without it `make` still builds the programs and says the pages
# were skipped (so `make demo` works on a machine without it), while
# `make man` and `make install` fail. tests/k8s/test-docs.sh checks that
# every long option of each program's --help is documented in its page.

SCDOC     ?= scdoc
MAN_SRC   := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRC:.scd=)

ifneq ($(shell command -v $(SCDOC) 2>/dev/null),)
all: man
else
all: man-skipped
man-skipped:
	@echo "man: $(SCDOC) not found, man pages not built (apt-get install scdoc)" >&2
.PHONY: man-skipped
endif

man: $(MAN_PAGES)

man/%: man/%.scd
	@command -v $(SCDOC) >/dev/null || { echo "man: $(SCDOC) not found (apt-get install scdoc)" >&2; exit 1; }
	$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

install: install-man

install-man: $(MAN_PAGES)
	@for p in $(MAN_PAGES); do \
		sec=$${p##*.}; \
		install -d $(DESTDIR)$(MANDIR)/man$$sec && \
		install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$sec/ || exit 1; \
	done

clean: clean-man

clean-man:
	rm -f $(MAN_PAGES)

.PHONY: man install-man clean-man
