# shellcheck shell=bash disable=SC2154 # top, peer, sample, stats: bench/run.sh's
# Item 6 (issue 10): what the image records of issue 11 cost on the Debian
# systemd image. Sourced by bench/run.sh, which calls bench_upgrade.
#
# The same code as a boot's, through `stint-peer image record IMAGE-DIR`
# (src/peer/image.c: image_check(), which the prepare worker runs on the
# staged lower) and `stint-peer diff --shadowed` (the report alone):
#   first   a volume's first boot on the image: the metadata walk, then the
#           manifest (a content hash of every file), the record
#   again   every later boot on the same image: the metadata walk only
#   change  a boot on a new image: its manifest and the shadow report
#           against the old one
#   report  the shadow report alone (two manifests merged, the differing
#           paths looked up in the upper)
# v2 is v1 with a package-upgrade-sized change (BENCH_UPGRADE_FILES files
# of /usr/lib rewritten, the dpkg status, two /etc files); the upper holds
# a pod's usual copies (dpkg status, /etc files, a patched library) and
# BENCH_UPGRADE_UPPER files of its own data. Warm page cache: the image
# was just unpacked (a node's first boot of an image reads it from disk).
# BENCH_UPGRADE_N rounds (default 5), taking turns.

bench_upgrade() {
	local rounds=${BENCH_UPGRADE_N:-5} files=${BENCH_UPGRADE_FILES:-300} own=${BENCH_UPGRADE_UPPER:-2000}
	local tmp v1 v2 up r t0 pv f i changed
	if [ "$(id -u)" != 0 ]; then
		echo "== item 6 (image records): skipped (needs root to read every file of the image)"
		return 0
	fi
	[ -x "$peer" ] || { echo "bench: $peer missing: run 'make static'" >&2; exit 1; }
	# shellcheck source=/dev/null
	source "$top/tests/images/images.sh"
	tmp=$(mktemp -d /tmp/stint-bench-upgrade.XXXXXX)
	up_fail() {
		rm -rf "$tmp"
		echo "bench: item 6: $*" >&2
		exit 1
	}
	v1=$tmp/v1 v2=$tmp/v2 up=$tmp/upper
	mkdir -p "$v1"
	zstd -q -d -c "$(debian_tarball)" | tar -C "$v1" --numeric-owner --xattrs -xf - ||
		up_fail "unpacking the Debian image failed"
	# v2: hard links to v1, the changed files replaced.
	cp -al "$v1" "$v2"
	i=0
	while IFS= read -r f; do
		cp -p "$v1/$f" "$v2/$f.new" && echo changed >>"$v2/$f.new" && mv "$v2/$f.new" "$v2/$f"
		i=$((i + 1))
	done < <(cd "$v1" && find usr/lib -type f -size -256k | sort | head -n "$files")
	changed=$i
	for f in var/lib/dpkg/status etc/issue etc/debian_version; do
		cp -p "$v1/$f" "$v2/$f.new" && echo changed >>"$v2/$f.new" && mv "$v2/$f.new" "$v2/$f"
	done
	# The upper: a pod's copies of image files, and its own data.
	mkdir -p "$up/var/lib/dpkg" "$up/etc" "$up/usr/lib" "$up/var/lib/data"
	cp -p "$v1/var/lib/dpkg/status" "$up/var/lib/dpkg/status"
	cp -p "$v1/etc/issue" "$v1/etc/passwd" "$up/etc/"
	f=$(cd "$v1" && find usr/lib -type f -size -256k | sort | sed -n 1p)
	mkdir -p "$up/$(dirname "$f")" && cp -p "$v1/$f" "$up/$f"
	for ((i = 0; i < own; i++)); do echo "$i" >"$up/var/lib/data/f$i"; done
	echo "== item 6: image records on the Debian image ($(find "$v1" | wc -l) entries, $(du -sm "$v1" | cut -f1) MB; v2: $changed+3 files changed;"
	echo "   the upper: 4 copies of image files and $own files of its own), $rounds runs each, taking turns, warm cache"
	for ((r = 0; r < rounds; r++)); do
		pv=$tmp/pv-$r
		mkdir -p "$pv/work"
		cp -a "$up" "$pv/upper"
		t0=$(date +%s%N)
		"$peer" image record --state "$pv" "$v1" 2>"$pv/first.log" || up_fail "$(cat "$pv/first.log")"
		sample upgrade "first boot on an image: walk, manifest, record" "$((($(date +%s%N) - t0) / 1000))" us
		t0=$(date +%s%N)
		"$peer" image record --state "$pv" "$v1" 2>"$pv/again.log" || up_fail "$(cat "$pv/again.log")"
		sample upgrade "every boot on the same image: metadata walk" "$((($(date +%s%N) - t0) / 1000))" us
		t0=$(date +%s%N)
		"$peer" image record --state "$pv" "$v2" 2>"$pv/change.log" || up_fail "$(cat "$pv/change.log")"
		sample upgrade "a boot on a new image: manifest, shadow report" "$((($(date +%s%N) - t0) / 1000))" us
		t0=$(date +%s%N)
		"$peer" diff --shadowed --state "$pv" >"$pv/report.txt" 2>&1 || up_fail "$(cat "$pv/report.txt")"
		sample upgrade "the shadow report alone (diff --shadowed)" "$((($(date +%s%N) - t0) / 1000))" us
		sample upgrade-size "manifest of the image (bytes)" "$(sed -n 's/^manifest_bytes=//p' "$pv/meta/image.prev")" bytes
		sample upgrade-size "shadow report (bytes)" "$(stat -c %s "$pv/meta/shadow")" bytes
		sample upgrade-size "shadowed entries" "$(sed -n 's/^end \([0-9]*\) .*/\1/p' "$pv/meta/shadow")" count
		cp "$pv/change.log" "$tmp/last-change.log"
		rm -rf "$pv"
	done
	echo "-- microseconds (stint-peer started for each, static musl)"
	stats table upgrade
	echo "-- sizes on the volume"
	stats table upgrade-size
	echo "-- the peer's own account of the last round's change:"
	sed 's/^/   /' "$tmp/last-change.log"
	rm -rf "$tmp"
}
