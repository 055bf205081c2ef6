# Unit tests of init/ modules link those objects too (see mk/check.mk).
$(O)/tests/unit/test_config: $(O)/init/options.o $(O)/init/signals.o $(O)/init/caps.o
$(O)/tests/unit/test_peer_config: $(O)/src/peer/config.o
