#!/usr/bin/env bash
# `make bench BENCH_SMOKE=1`: every item of the bench once, with tiny
# counts, so that the bench does not rot. No timing is checked (that is
# what the bench is for); what is checked: it ends well, every item has
# measured something (a sample > 0 for each program compared), the results
# file holds the machine's details and every item's table, and the size
# tables add up to the binaries.
source "$(dirname "$0")/lib/libtest.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (PID namespaces, runc)"; exit 0; }

test_smoke() {
	local res=$TEST_TMP/results
	command -v runc >/dev/null || skip "runc is not installed (items 1 and 2 need it)"
	# A make of its own (not the jobs or variables of a `make check` around
	# this test): it builds the bench's helpers and the linker maps.
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$TOP" --no-print-directory bench \
		BENCH_SMOKE=1 BENCH_RESULTS="$res" >"$TEST_TMP/bench.out" 2>&1 || {
		cat "$TEST_TMP/bench.out"
		fail "make bench BENCH_SMOKE=1 failed: $(grep -v '^ *$' "$TEST_TMP/bench.out" | tail -n 3 | tr '\n' ' ')"
	}
	cat "$TEST_TMP/bench.out"
	assert_exists "$res.md"
	assert_exists "$res.json"
	# The machine's details and every item's heading are in the results.
	for re in '^kernel: ' '^cpu: ' '^cores: ' '^cgroup: ' '^runc: ' '^== start-up' '^== handoff' \
		'^== resident memory' '^== item 1: OS boot cost' '^== item 2: prepare cost' '^== item 3: reaping' \
		'^== item 4: signal forwarding' '^== item 5: sizes' '^== item 6: image records on the Debian image' 'B / A: x[0-9.]+ on the medians' \
		'fixed part .* per mount' '^musl: float formatting' '^inih' '^libcap' '^musl: malloc' '^musl: getopt'; do
		assert_file_has_content "$res.md" "$re"
	done
	# Every compared program measured something.
	python3 - "$res.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
items = d["items"]
need = {
    "startup": ["stint --supervise (static musl)", "stint, exec mode (static musl)"],
    "boot": ["A: runc run until READY=1", "B: runc run until READY=1"],
    "mounts": ["N=5 stint-peer: prepare, wall time", "N=100 stint-peer: prepare, wall time"],
    "reap": ["stint", "tini", "catatonit"],
    "reap-cpu": ["stint", "tini", "catatonit"],
    "signal": ["stint", "tini", "catatonit"],
    "size-stint": ["total on disk (stripped)"],
    "size-stint-peer": ["total on disk (stripped)"],
    "upgrade": ["first boot on an image: walk, manifest, record", "every boot on the same image: metadata walk",
                "a boot on a new image: manifest, shadow report", "the shadow report alone (diff --shadowed)"],
    "upgrade-size": ["manifest of the image (bytes)", "shadowed entries"],
}
bad = []
for item, labels in need.items():
    for label in labels:
        e = items.get(item, {}).get(label)
        if not e or not e["values"] or min(e["values"]) <= 0:
            bad.append("%s / %s: %s" % (item, label, e))
for k in ("kernel", "cpu", "cores", "cgroup"):
    if not d["machine"].get(k):
        bad.append("machine: no " + k)
if "mounts" not in d["fits"] or not d["fits"]["mounts"]:
    bad.append("no fit for item 2")
if bad:
    sys.exit("FAIL: missing or empty: " + "; ".join(bad))
PY
	# The groups of the size table add up to the linker map's sections.
	python3 - "$res.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
for b in ("stint", "stint-peer"):
    groups = {k: v["values"][0] for k, v in items["size-" + b].items()}
    total = groups.pop("total on disk (stripped)")
    parts = sum(groups.values())
    if not 0.8 * total < parts <= total:
        sys.exit("FAIL: %s: groups sum to %d bytes, the file has %d" % (b, parts, total))
PY
}

run_test "make bench BENCH_SMOKE=1: every item measured once, results written" test_smoke
