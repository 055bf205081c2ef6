#!/bin/sh
# The original nsfdsuds flow, as a shell script run by
#   stint-peer -s SOCKET exec -- sh shell-flow.sh PV_DIR_IN_TARGET
# It receives the init's fds as STINT_FD_* variables, enters the init's
# mount namespace with nsenter, mounts an overlay whose upper lives on the
# persistent volume (as the target sees it) over the image's root at the
# init's default root ($STINT_ROOT), binds the runtime's mounts into it, and
# tells the init with `stint-peer ready`. On failure it sends `stint-peer
# abort` so the init does not wait for its timeout.
set -eu
pv=${1:?usage: shell-flow.sh PV_DIR_IN_TARGET}
peer=${STINT_PEER_BIN:-stint-peer}
: "${STINT_FD_MNT:?not run under stint-peer exec}" "${STINT_ROOT:?}"

# Runs inside the target's mount namespace with the target's own /bin/sh.
inside() {
	nsenter --mount="/proc/self/fd/$STINT_FD_MNT" -- /bin/sh -c "$1"
}

if ! inside "
	set -e
	mkdir -p '$pv/upper' '$pv/work'
	mount -t overlay stint -o lowerdir=/,upperdir='$pv/upper',workdir='$pv/work' '$STINT_ROOT'
	for m in /proc /dev /sys /vol; do mount -o rbind \$m '$STINT_ROOT'\$m; done
	for f in /etc/hosts /etc/resolv.conf /etc/hostname; do mount -o bind \$f '$STINT_ROOT'\$f; done
"; then
	"$peer" abort "shell-flow: mounting the overlay or the runtime's mounts failed"
	exit 1
fi
exec "$peer" ready --root "$STINT_ROOT"
