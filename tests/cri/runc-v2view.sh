#!/bin/sh
# runc for containerd in tests/cri's cgroup v2 view only. That view is this
# cgroup v1 (hybrid) host's unified hierarchy bound over /sys/fs/cgroup, where
# no cpu controller exists (cpu, memory, pids stay on v1). containerd 1.6
# gives every sandbox cpu shares 2 (cpu.weight on v2) with no way to turn
# that off, and runc then fails ("openat2 .../cpu.weight: no such file").
# This wrapper removes the CPU settings from the bundle's config.json before
# `runc create` and runs the real runc (STINT_RUNC) with the same arguments;
# nothing else changes. On a real cgroup v2 node it is not needed.
set -eu
bundle=
prev=
for a in "$@"; do
	case $prev in --bundle | -b) bundle=$a ;; esac
	case $a in --bundle=*) bundle=${a#--bundle=} ;; esac
	prev=$a
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
	jq -c 'del(.linux.resources.cpu)' "$bundle/config.json" >"$bundle/config.json.v2view"
	mv "$bundle/config.json.v2view" "$bundle/config.json"
fi
exec "${STINT_RUNC:-/usr/sbin/runc}" "$@"
