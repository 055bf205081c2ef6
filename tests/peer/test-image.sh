#!/usr/bin/env bash
# The image records' parts without a pod, on plain directories (fast):
# `stint-peer image record DIR` runs the same check as a boot's worker,
# `diff` and `export` read an upper layer made by hand. Checked: the
# manifest format against an independent decoder (and its content hashes
# against b2sum), the metadata digest's stability, that nothing is
# followed or opened in a hostile tree (symlinks, FIFOs, devices), the
# walk's limits failing closed, a damaged manifest refused or rewritten,
# and the exported layer read back by Python's tarfile and GNU tar.
source "$(dirname "$0")/../lib/libtest.sh"

PEER=$STINT_PEER
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (device nodes, trusted.* xattrs)"; exit 0; }

# mf.py: the documented manifest format (docs/peer.md) read by a second,
# independent implementation.
cat >"$TEST_TMP/mf.py" <<'PY'
import re, sys

def unesc(s):
    return re.sub(rb"\\([0-3][0-7][0-7])", lambda m: bytes([int(m.group(1), 8)]), s)

def show(path):
    """A path on one line, for diffs."""
    return path.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\t", b"\\t")

def entries(name):
    """(path, [type, mode, uid, gid, size, mtime, extra]) per entry, then
    ("DIGEST", digest); checks the header, order of fields and trailer."""
    lines = open(name, "rb").read().split(b"\n")
    assert lines[0] == b"stint-manifest 1", lines[0]
    assert lines[-1] == b"", "no final newline"
    prev, n = b"", 0
    for line in lines[1:-1]:
        f = line.split(b" ")
        if f[0] == b"end":
            assert int(f[1]) == n, "count"
            yield "DIGEST", f[2].decode()
            return
        shared, suffix, rest = int(f[0]), f[1], f[2:]
        assert len(rest) == 7, line
        path = prev[:shared] + unesc(suffix)
        yield path, rest[:6] + [unesc(rest[6])]
        prev, n = path, n + 1
    sys.exit("no trailer")
PY

# decode MANIFEST: "PATH<TAB>TYPE MODE UID GID SIZE MTIME EXTRA" per entry
# (PATH and EXTRA shown on one line), then "DIGEST<TAB>digest".
decode() {
	PYTHONPATH=$TEST_TMP "$PY" - "$1" <<'PY'
import sys, mf
for path, f in mf.entries(sys.argv[1]):
    if path == "DIGEST":
        print("DIGEST\t" + f)
    else:
        sys.stdout.buffer.write(mf.show(path) + b"\t" + b" ".join(f[:6]) + b" " + mf.show(f[6]) + b"\n")
PY
}

# expect DIR: what the manifest of DIR must say, from os.lstat.
expect() {
	PYTHONPATH=$TEST_TMP "$PY" - "$1" <<'PY'
import os, stat, sys
from mf import show
root = sys.argv[1].encode()
def kind(m):
    return {stat.S_IFREG: b"f", stat.S_IFDIR: b"d", stat.S_IFLNK: b"l", stat.S_IFCHR: b"c",
            stat.S_IFBLK: b"b", stat.S_IFIFO: b"p", stat.S_IFSOCK: b"s"}[stat.S_IFMT(m)]
out = []
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        out.append(os.path.join(dp, n))
out.append(root)
for p in out:
    st = os.lstat(p)
    rel = show(p[len(root):] or b"/")
    t = kind(st.st_mode)
    size = 0 if t == b"d" else st.st_size
    if t == b"l":
        extra = show(os.readlink(p))
    elif t in (b"c", b"b"):
        extra = b"%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    elif t == b"f":
        extra = b"HASH"
    else:
        extra = b"-"
    sys.stdout.buffer.write(rel + b"\t" + b"%s %o %d %d %d %d " % (t, stat.S_IMODE(st.st_mode), st.st_uid,
                                                                 st.st_gid, size, int(st.st_mtime)) + extra + b"\n")
PY
}

# fresh: a directory of this test's own to work in.
fresh() { cd "$(mktemp -d "$TEST_TMP/t.XXXXXX")" || fail "no temp dir"; }

manifest_of() { echo "$1/meta/$(sed -n 's/^manifest=//p' "$1/meta/image")"; }

new_pv() { rm -rf "$1" && mkdir -p "$1/upper" "$1/work"; }

# A tree with the names a walk must survive.
odd_tree() {
	local d=$1
	mkdir -p "$d/etc" "$d/dir with space/sub" "$d/deep/a/b/c" "$d/dev"
	echo hello >"$d/etc/motd"
	printf 'line\n' >"$d/dir with space/file	tab"
	echo nl >"$d/deep/new
line"
	echo bs >"$d/deep/back\\slash"
	echo utf >"$d/deep/ünïcødé"
	echo long >"$d/deep/$(printf 'x%.0s' {1..250})"
	ln -s /etc/shadow "$d/etc/link-out"
	ln -s ../.. "$d/deep/a/up"
	mkfifo "$d/dev/fifo"
	mknod "$d/dev/null-like" c 1 3
	chown 1234:5678 "$d/etc/motd"
	chmod 4755 "$d/deep/a"
	touch -d @100000 "$d/etc/motd"
	head -c 300000 /dev/urandom >"$d/deep/a/b/c/random.bin"
}

test_manifest_format() {
	fresh
	odd_tree img
	new_pv pv
	timeout 30 "$PEER" image record --state "$PWD/pv" img || fail "image record failed"
	decode "$(manifest_of pv)" >got.txt || fail "the manifest does not decode"
	grep -v '^DIGEST' got.txt | sed 's/ [0-9a-f]\{32\}$/ HASH/' | sort >got-sorted.txt
	expect img | sort >want.txt
	diff -u want.txt got-sorted.txt || fail "the manifest differs from the tree"
	assert_eq "$(sed -n 's/^DIGEST\t//p' got.txt)" "$(sed -n 's/^digest=//p' pv/meta/image)" "trailer digest"
	# Content hashes are BLAKE2b-128: b2sum -l 128 agrees for every file.
	PYTHONPATH=$TEST_TMP "$PY" - img "$(manifest_of pv)" <<'PY' || fail "a content hash differs from b2sum -l 128"
import subprocess, sys, mf
root = sys.argv[1].encode()
n = 0
for path, f in mf.entries(sys.argv[2]):
    if path == "DIGEST" or f[0] != b"f":
        continue
    out = subprocess.run(["b2sum", "-l", "128", "--", root + path], capture_output=True, check=True).stdout
    # b2sum marks a name it had to escape with a leading backslash.
    if out.split(b" ")[0].lstrip(b"\\") != f[6]:
        sys.exit("%r: %r vs %r" % (path, f[6], out))
    n += 1
if n < 5:
    sys.exit("only %d files checked" % n)
PY
	# The walk never went through the symlinks.
	assert_file_lacks_content got.txt '^/etc/link-out/|^/deep/a/up/'
}

# Same tree = same digest, wherever it lies; a directory's mtime does not
# count, a file's mtime, mode or content does.
test_digest() {
	local d1 d2
	fresh
	odd_tree img
	digest_of() {
		new_pv pv
		timeout 30 "$PEER" -q image record --state "$PWD/pv" "$1" || fail "image record $1"
		sed -n 's/^digest=//p' pv/meta/image
	}
	d1=$(digest_of img)
	cp -a img copy
	assert_eq "$(digest_of copy)" "$d1" "a copy (cp -a)"
	touch -d @200000 copy/deep
	assert_eq "$(digest_of copy)" "$d1" "a directory's mtime"
	touch -d @200000 copy/etc/motd
	d2=$(digest_of copy)
	assert_ne "$d2" "$d1" "a file's mtime"
	chmod 600 copy/deep/back\\slash
	assert_ne "$(digest_of copy)" "$d2" "a file's mode"
}

# The same image again: "unchanged", no manifest written; a damaged
# manifest of the current image is written again; the old image's damaged
# manifest means no report, but the boot goes on (warn).
test_records_and_damage() {
	local m
	fresh
	odd_tree img
	new_pv pv
	"$PEER" image record --state "$PWD/pv" img 2>first.log || fail "first record"
	"$PEER" image record --state "$PWD/pv" img 2>again.log || fail "second record"
	cat again.log
	assert_file_has_content again.log 'unchanged \([0-9]+ entries walked in [0-9]+ ms\)'
	assert_file_lacks_content again.log 'manifest'
	m=$(manifest_of pv)
	head -c 500 "$m" >"$m.cut" && mv "$m.cut" "$m"
	"$PEER" image record --state "$PWD/pv" img 2>damaged.log || fail "record with a damaged manifest"
	cat damaged.log
	assert_file_has_content damaged.log 'the manifest meta/manifest-[0-9a-f]{32} is missing or damaged: writing it again'
	decode "$m" >/dev/null || fail "the manifest was not written again"
	# diff refuses a damaged manifest, saying where.
	sed -i '4s/ [dfl] / q /' "$m"
	! "$PEER" diff --state "$PWD/pv" >/dev/null 2>diff.err || fail "diff accepted a damaged manifest"
	cat diff.err
	assert_file_has_content diff.err 'the manifest manifest-[0-9a-f]{32}, line 4: a malformed field'
	# The old image's manifest lost: the change is logged without a report.
	cp -a img img2
	echo changed >>img2/etc/motd
	rm -f "$m"
	"$PEER" image record --state "$PWD/pv" img2 2>change.log || fail "record of a new image"
	cat change.log
	assert_file_has_content change.log 'warning: image changed: .*; no shadow report: the manifest of the old image \(meta/manifest-[0-9a-f]{32}\) is missing or damaged'
}

# A tree deeper than the walk's bound: refused with a reason; with
# on-image-change=warn the boot goes on unrecorded; diff fails closed.
test_limits() {
	local p=deep i
	fresh
	mkdir -p img/etc
	for ((i = 0; i < 260; i++)); do p=$p/d; done
	mkdir -p "img/$p"
	new_pv pv
	! "$PEER" image record --on-image-change refuse --state "$PWD/pv" img 2>refuse.log || fail "a 260-deep image was recorded"
	cat refuse.log
	assert_file_has_content refuse.log 'on-image-change=refuse: the image cannot be identified, so nothing was booted: the image: directories nested deeper than 256 levels at /deep/d/'
	"$PEER" image record --state "$PWD/pv" img 2>warn.log || fail "warn refused the boot"
	assert_file_has_content warn.log 'warning: image: not recorded \(on-image-change=warn, booting anyway\): the image: directories nested deeper than 256'
	# The upper: diff and export fail closed.
	rm -rf img/deep
	"$PEER" -q image record --state "$PWD/pv" img || fail "record"
	mkdir -p "pv/upper/$p"
	! "$PEER" diff --state "$PWD/pv" >/dev/null 2>diff.err || fail "diff walked a 260-deep upper"
	assert_file_has_content diff.err 'diff: the upper layer: directories nested deeper than 256 levels'
	! "$PEER" export --state "$PWD/pv" out.tar 2>export.err || fail "export walked a 260-deep upper"
	assert_file_has_content export.err 'the upper layer: directories nested deeper than 256 levels'
}

# An upper made as overlayfs makes them, with what a hostile guest plants:
# FIFOs, device nodes, symlinks out of the tree, a symlink where the image
# has a directory. Nothing is followed, opened or hung on.
hostile_upper() {
	local u=$1
	mkdir -p "$u/etc" "$u/opt/app" "$u/root" "$u/usr"
	echo edited >"$u/etc/motd"
	mknod "$u/etc/gone" c 0 0 # a whiteout
	"$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$u/opt/app"
	echo mine >"$u/opt/app/mine"
	mkfifo "$u/root/fifo"
	mknod "$u/root/zero" c 1 5
	ln -s /etc/shadow "$u/root/shadow-link"
	ln -s /proc/self/root "$u/usr/lib" # the image has a directory there
	echo data >"$u/root/hard1"
	ln "$u/root/hard1" "$u/root/hard2"
	echo x >"$u/root/$(printf 'n%.0s' {1..200})"
	echo caps >"$u/root/capable"
	"$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"kept"); os.setxattr(sys.argv[1], "trusted.overlay.origin", b"\x00node")' "$u/root/capable"
	echo big >"$u/root/bigid"
	chown 3000000000:3000000001 "$u/root/bigid"
}

image_tree() {
	mkdir -p "$1/etc" "$1/opt/app" "$1/usr/lib"
	echo motd >"$1/etc/motd"
	echo gone >"$1/etc/gone"
	echo data >"$1/opt/app/data"
	echo lib >"$1/usr/lib/libx.so"
}

test_diff_hostile_upper() {
	fresh
	image_tree img
	new_pv pv
	"$PEER" -q image record --state "$PWD/pv" img || fail "record"
	hostile_upper pv/upper
	timeout 20 "$PEER" diff --state "$PWD/pv" >diff.txt || fail "diff failed or hung"
	cat diff.txt
	for line in 'C /etc/motd \(content\)' 'D /etc/gone' 'R /opt/app' 'A /opt/app/mine' 'A /root/fifo' \
		'A /root/zero' 'A /root/shadow-link' 'C /usr/lib \(type\)'; do
		assert_file_has_content diff.txt "^$line\$"
	done
	timeout 20 "$PEER" diff --json --state "$PWD/pv" >diff.json || fail "diff --json"
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); c = d["counts"]; sys.exit(0 if (c["deleted"], c["replaced"]) == (1, 1) else str(c))' diff.json ||
		fail "diff --json: not valid or wrong counts"
	# The symlinks were not followed: nothing of /etc or /proc is listed.
	assert_file_lacks_content diff.txt '^. /(usr/lib|root/shadow-link)/'
}

test_export_format() {
	fresh
	image_tree img
	new_pv pv
	"$PEER" -q image record --state "$PWD/pv" img || fail "record"
	hostile_upper pv/upper
	timeout 20 "$PEER" export --state "$PWD/pv" layer.tar || fail "export failed or hung"
	"$PY" - layer.tar <<'PY' || fail "the layer is not what the upper holds"
import sys, tarfile
t = tarfile.open(sys.argv[1])
m = {x.name: x for x in t.getmembers()}
def need(cond, what):
    if not cond:
        sys.exit("layer: " + what)
need(m["etc/.wh.gone"].isreg() and m["etc/.wh.gone"].size == 0, "whiteout as .wh.gone")
need("etc/gone" not in m, "the whiteout's own name")
need(m["opt/app/.wh..wh..opq"].isreg(), "opaque marker")
need(m["root/fifo"].isfifo(), "fifo")
need(m["root/zero"].ischr() and (m["root/zero"].devmajor, m["root/zero"].devminor) == (1, 5), "device")
need(m["root/shadow-link"].issym() and m["root/shadow-link"].linkname == "/etc/shadow", "symlink")
need(m["usr/lib"].issym() and m["usr/lib"].linkname == "/proc/self/root", "symlink over a directory")
need(m["root/hard2"].islnk() and m["root/hard2"].linkname == "root/hard1", "hard link")
need(m["root/" + "n" * 200].isreg(), "a long name (pax path)")
cap = m["root/capable"]
need(cap.pax_headers.get("SCHILY.xattr.user.note") == "kept", "user xattr")
need(not any("overlay" in k for k in cap.pax_headers), "overlayfs' own xattrs left out")
need((m["root/bigid"].uid, m["root/bigid"].gid) == (3000000000, 3000000001), "big ids (pax)")
need(t.extractfile("etc/motd").read() == b"edited\n", "content")
need(not any(n.startswith("/") or n.startswith("proc") for n in m), "paths stay in the layer")
PY
	# The device node and the FIFO were never opened, only looked at
	# (O_PATH); files are read through the inode checked (/proc/self/fd).
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -qq -e trace=open,openat,openat2 -o trace.txt \
		"$PEER" export --state "$PWD/pv" layer2.tar || fail "export under strace"
	! grep -E '"(zero|fifo)"' trace.txt | grep -v O_PATH || fail "export opened a device node or a FIFO"
	grep -q 'openat(.*"/proc/self/fd/[0-9]*", O_RDONLY' trace.txt || fail "files not reopened through /proc/self/fd"
	cmp layer.tar layer2.tar || fail "two exports of the same upper differ"
	# GNU tar reads it back to the same tree (whiteouts aside).
	mkdir out
	tar --xattrs --xattrs-include='user.*' -C out -xpf layer.tar || fail "GNU tar cannot extract the layer"
	assert_eq "$(cat out/etc/motd)" edited
	assert_eq "$(stat -c %u:%g out/root/bigid)" 3000000000:3000000001
	assert_eq "$(stat -c %i out/root/hard1)" "$(stat -c %i out/root/hard2)" "hard link"
	assert_eq "$(getfattr --only-values -n user.note out/root/capable 2>/dev/null || "$PY" -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.note").decode())' out/root/capable)" kept
}

# The volume given as upper= and work= instead of state=.
test_upper_work_keys() {
	fresh
	image_tree img
	mkdir -p vol/layers/upper vol/layers/work
	"$PEER" -q image record --upper "$PWD/vol/layers/upper" --work "$PWD/vol/layers/work" img || fail "record"
	assert_exists vol/layers/meta/image
	echo x >vol/layers/upper/new
	"$PEER" diff --upper "$PWD/vol/layers/upper" --work "$PWD/vol/layers/work" >diff.txt || fail "diff"
	assert_file_has_content diff.txt '^A /new$'
	! "$PEER" diff >/dev/null 2>err.txt || fail "diff without a volume"
	assert_file_has_content err.txt 'no persistent volume: give state=DIR'
}

run_test "manifest: the documented format, read back independently; hashes = b2sum -l 128" test_manifest_format
run_test "digest: same tree same digest; directory mtimes do not count, file metadata does" test_digest
run_test "records: unchanged image, a damaged manifest rewritten or refused, a lost old manifest" test_records_and_damage
run_test "limits: a tree too deep fails closed (refuse: no boot; warn: boots unrecorded; diff, export fail)" test_limits
run_test "diff of a hostile upper: whiteouts, opaque dirs, FIFOs, devices, symlinks, nothing followed" test_diff_hostile_upper
run_test "export: OCI whiteouts, hard links, long names, xattrs, big ids; GNU tar extracts it" test_export_format
run_test "the volume as upper= and work=; no volume at all" test_upper_work_keys
