#!/bin/sh
# runc for containerd in tests/cri's cgroup v2 view only (that view is this
# cgroup v1 (hybrid) host's unified hierarchy bound over /sys/fs/cgroup).
# Before `runc create` it changes the bundle's config.json in two ways, then
# runs the real runc (STINT_RUNC) with the same arguments:
# 1. It removes the CPU settings. The view has no cpu controller (cpu,
#    memory, pids stay on v1), and containerd 1.6 gives every sandbox cpu
#    shares 2 (cpu.weight on v2) with no way to turn that off; runc then
#    fails ("openat2 .../cpu.weight: no such file").
# 2. A container without a cgroup namespace (containerd gives privileged
#    ones none) gets the node's nsdelegate option on its cgroup2 mount.
#    runc mounts a new cgroup2 instance there from the host's cgroup
#    namespace, and such a mount without nsdelegate clears nsdelegate for
#    the whole node: the pod's own privileged peer would take away what its
#    cgroup=rw check needs. containerd fixed this after 1.6 by copying the
#    host's cgroup mount options for privileged containers (containerd pull
#    request 12952; runc issue 5258); this does the same for 1.6.
# On a real cgroup v2 node with a containerd that has that fix, neither
# change is needed.
set -eu
bundle=
prev=
cmd=
for a in "$@"; do
	case $prev in --bundle | -b) bundle=$a ;; esac
	case $a in
	--bundle=*) bundle=${a#--bundle=} ;;
	create) [ -n "$cmd" ] || cmd=create ;;
	esac
	prev=$a
done
if [ "$cmd" = create ] && [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
	nsdelegate=false
	awk '$5 == "/sys/fs/cgroup" && $(NF-2) == "cgroup2"' /proc/self/mountinfo | grep -q nsdelegate && nsdelegate=true
	jq -c --argjson nsd "$nsdelegate" '
		del(.linux.resources.cpu)
		| if $nsd and ([.linux.namespaces[]?.type] | index("cgroup")) == null
		  then .mounts |= map(if .type == "cgroup" and .destination == "/sys/fs/cgroup"
			then .options += ["nsdelegate"] else . end)
		  else . end' "$bundle/config.json" >"$bundle/config.json.v2view"
	mv "$bundle/config.json.v2view" "$bundle/config.json"
fi
exec "${STINT_RUNC:-/usr/sbin/runc}" "$@"
