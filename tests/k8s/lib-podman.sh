# podman for the k8s tests: a private store under $TEST_TMP (nothing is
# left in /var/lib/containers), the rlimit workaround LAB-FACTS describes,
# and the two images k8s/pod.yaml names, built with `podman import` from
# busybox roots (no registry). Source after libtest.sh, rootfs.sh, images.sh.

# podman_env: point podman at the private store (call at the top level, so
# every test's subshell inherits it), and remove it all at exit.
podman_env() {
	PODMAN_HOME=$TEST_TMP/podman
	export CONTAINERS_CONF=$PODMAN_HOME/containers.conf
	export CONTAINERS_STORAGE_CONF=$PODMAN_HOME/storage.conf
	defer "podman_teardown"
}

# podman_setup: write the containers.conf and storage.conf podman_env names.
podman_setup() {
	command -v podman >/dev/null || fail "podman not installed (apt-get install podman)"
	mkdir -p "$PODMAN_HOME"/{storage,run,tmp}
	# Without default_ulimits podman 4.3 fails every run here with "error
	# setting rlimit type 7: operation not permitted" (no CAP_SYS_RESOURCE).
	cat >"$PODMAN_HOME/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
tmp_dir = "$PODMAN_HOME/tmp"
events_logger = "file"
EOF
	cat >"$PODMAN_HOME/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PODMAN_HOME/storage"
runroot = "$PODMAN_HOME/run"
EOF
}

podman_teardown() {
	[ -f "$CONTAINERS_STORAGE_CONF" ] || return 0
	timeout 60 podman pod rm -a -f -t 0 >/dev/null 2>&1
	timeout 60 podman rm -a -f -t 0 >/dev/null 2>&1
	timeout 60 podman volume rm -a -f >/dev/null 2>&1
	timeout 60 podman rmi -a -f >/dev/null 2>&1
}

# podman_import DIR IMAGE CHANGE...: tar DIR into IMAGE with --change lines.
podman_import() {
	local dir=$1 image=$2 args=() c
	shift 2
	for c in "$@"; do args+=(--change "$c"); done
	tar -C "$dir" --numeric-owner -cf "$dir.tar" . || fail "tar of $dir"
	timeout 120 podman import "${args[@]}" "$dir.tar" "$image" >/dev/null || fail "podman import $image"
	rm -f "$dir.tar"
}

# build_pod_images: localhost/stint-os:latest (busybox init, stint as
# ENTRYPOINT, STOPSIGNAL USR2 = busybox poweroff) and
# localhost/stint-peer:latest (busybox + stint-peer).
IMAGE_PATH="ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

build_pod_images() {
	local os=$TEST_TMP/img-os peer=$TEST_TMP/img-peer
	[ -x "$STINT_STATIC" ] || fail "$STINT_STATIC missing: run make static"
	[ -x "$STINT_PEER_STATIC" ] || fail "$STINT_PEER_STATIC missing: run make static"
	make_busybox_os "$os"
	install_binary "$os" "$STINT_STATIC" /usr/sbin/stint
	mkdir -p "$os/etc/stint" "$os/run/stint"
	podman_import "$os" localhost/stint-os:latest \
		'ENTRYPOINT ["/usr/sbin/stint"]' 'CMD ["/sbin/init"]' 'STOPSIGNAL SIGUSR2' "$IMAGE_PATH"
	make_busybox_rootfs "$peer"
	install_binary "$peer" "$STINT_PEER_STATIC" /usr/bin/stint-peer
	mkdir -p "$peer/etc/stint" "$peer/run/stint" "$peer/var/lib/stint"
	podman_import "$peer" localhost/stint-peer:latest 'CMD ["/usr/bin/stint-peer", "--help"]' "$IMAGE_PATH"
}

# logs_have CTR REGEX: the container's log holds a line matching REGEX.
# The k8s-file log podman writes is read directly: a `podman logs` per
# poll takes seconds on a busy machine, and piped into `grep -q` it gets
# SIGPIPE at the first match (a long log, systemd's, then reads as none).
# Each record there is "TIME STREAM P|F TEXT": a line read from a terminal
# in pieces is several P records and an F one, joined here.
logs_have() {
	local path
	path=$(timeout 30 podman container inspect --format '{{.HostConfig.LogConfig.Path}}' "$1" 2>/dev/null) || return 1
	if [ -n "$path" ] && [ -f "$path" ]; then
		awk '{
			rest = substr($0, index($0, " ") + 1); rest = substr(rest, index(rest, " ") + 1)
			if (substr(rest, 1, 2) == "P ") { buf = buf substr(rest, 3); next }
			print buf substr(rest, 3); buf = ""
		} END { if (buf != "") print buf }' "$path" >"$TEST_TMP/logs_have.txt"
	else
		timeout 30 podman logs "$1" >"$TEST_TMP/logs_have.txt" 2>&1
	fi
	grep -qE -- "$2" "$TEST_TMP/logs_have.txt"
}
