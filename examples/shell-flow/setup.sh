#!/bin/sh
# Build the persistent root by hand, the original nsfdsuds way. Run by
#   stint-peer exec -- setup.sh
# which hands this script the init's namespaces as open fds (STINT_FD_MNT,
# STINT_FD_PID, ..., STINT_FD_SOCK: see stint-peer(8)) and exports
# STINT_INIT_PID (the init's pid in its own namespace, 1 in a pod) and
# STINT_ROOT (the root the init enters on a plain `stint-peer ready`).
#
# It mounts, inside the OS container's mount namespace, an overlay whose
# lower is the container's own root and whose upper is on the persistent
# volume, binds the runtime's mounts into it, and says ready. Any failure
# sends ABORT with the reason. Edit freely: this is the part people script.
set -eu

# The persistent volume: mounted at this path in BOTH containers. overlayfs
# refuses an upper directory on a mount of another mount namespace ("failed
# to clone upperpath"), and a script cannot move a mount between namespaces;
# `stint-peer prepare` can (open_tree/move_mount) and needs the volume in the
# peer only.
STATE=${STATE:-/var/lib/stint}
ROOT=${STINT_ROOT:-/.stint/root}
# Mounts the runtime made that the OS needs in its new root.
CARRY=${CARRY:-/proc /sys /dev /etc/hosts /etc/hostname /etc/resolv.conf}

say() { echo "setup.sh: $*" >&2; }
abort() {
	say "failed: $*"
	stint-peer abort "setup.sh: $*" || true
	exit 1
}

# Run a command in the init's mount namespace. setns() also moves our root
# there, so the command (mount, mkdir, ...) comes from the OS image, and
# /proc/self in its procfs is not ours: read the init's own /proc/PID files.
in_init() { nsenter --mount="/proc/self/fd/$STINT_FD_MNT" -- "$@"; }
mounted() { in_init cat "/proc/$STINT_INIT_PID/mountinfo" | awk -v m="$1" '$5 == m {f = 1} END {exit !f}'; }

[ -n "${STINT_FD_MNT:-}" ] || { say "run me under 'stint-peer exec'"; exit 2; }

in_init mkdir -p "$STATE/upper" "$STATE/work" "$ROOT" || abort "mkdir $STATE/upper $STATE/work $ROOT"
# A restarted peer may find the overlay of its previous run: keep it.
if mounted "$ROOT"; then
	say "overlay already mounted at $ROOT"
else
	in_init mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$STATE/upper,workdir=$STATE/work" "$ROOT" ||
		abort "mount overlay lowerdir=/,upperdir=$STATE/upper,workdir=$STATE/work at $ROOT"
	say "overlay mounted at $ROOT (upper $STATE/upper)"
fi
for m in $CARRY; do
	mounted "$ROOT$m" && continue
	# A file (hosts, resolv.conf) needs a file to bind over, a dir a dir.
	if in_init test -d "$m"; then
		in_init mkdir -p "$ROOT$m"
	else
		in_init sh -c 'mkdir -p "$(dirname "$1")" && touch "$1"' sh "$ROOT$m"
	fi
	# --rbind takes the submounts (devpts, mqueue, the masks over
	# /proc/kcore & co) along, each keeping its read-only flag.
	in_init mount --rbind "$m" "$ROOT$m" || abort "bind $m into $ROOT"
done
say "carried: $CARRY"
stint-peer ready || abort "the init refused READY"
