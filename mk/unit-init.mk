# Unit tests of init/ and src/peer/ modules link those objects too (see mk/check.mk).
$(O)/tests/unit/test_config: $(O)/init/options.o $(O)/init/signals.o $(O)/init/caps.o
$(O)/tests/unit/test_peer_config: $(O)/src/peer/config.o
$(O)/tests/unit/test_peer_logic: $(O)/src/peer/carry.o $(O)/src/peer/mountinfo.o $(O)/src/peer/cgroup.o $(O)/src/peer/err.o $(O)/src/peer/ns.o $(O)/src/peer/mountpoint.o
$(O)/tests/unit/test_image: $(O)/src/peer/blake2b.o $(O)/src/peer/obuf.o $(O)/src/peer/walk.o $(O)/src/peer/manifest.o \
	$(O)/src/peer/dirfile.o $(O)/src/peer/err.o
$(O)/tests/unit/test_mountinfo: $(O)/src/peer/mountinfo.o
