#!/usr/bin/env bash
# Read an LXC container config (/var/lib/lxc/NAME/config) and print what each
# key becomes with stint on Kubernetes: build-image.sh flags, stint.ini keys,
# and pod spec fields. It only advises; nothing is changed. Keys it does not
# know are listed at the end so none is dropped silently.
#
#   lxc2stint.sh CONFIG
set -euo pipefail
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: lxc2stint.sh /var/lib/lxc/NAME/config" >&2; exit 2; }

awk '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function say(key, val, text) { printf "%-28s %s\n    -> %s\n", key, val, text }
/^[ \t]*(#|$)/ { next }
{
	eq = index($0, "=")
	if (!eq) { odd[++nodd] = $0; next }
	key = trim(substr($0, 1, eq - 1)); val = trim(substr($0, eq + 1))
}
key == "lxc.init.cmd" {
	say(key, val, "build-image.sh --init \"" val "\"  (the image CMD: what stint execs after the switch)"); next }
key == "lxc.signal.halt" {
	say(key, val, "build-image.sh --stop-signal " val "  (image STOPSIGNAL) and, on clusters with ContainerStopSignals, lifecycle.stopSignal: " val); next }
key == "lxc.signal.reboot" {
	say(key, val, "no equivalent: a reboot inside the pod ends the container; Kubernetes restarts it (restartPolicy) or delete the pod"); next }
key == "lxc.signal.stop" {
	say(key, val, "Kubernetes always sends SIGKILL after terminationGracePeriodSeconds"); next }
key ~ /^lxc\.rootfs\.path$/ {
	say(key, val, "the image (build-image.sh) is the lower layer; the PVC in volumeClaimTemplates holds the upper (your changes)"); next }
key == "lxc.mount.entry" {
	n = split(val, f, /[ \t]+/)
	say(key, val, "a volume + volumeMount at /" f[2] " in the os container (hostPath, PVC or emptyDir); the peer carries it into the new root (carry = auto)"); next }
key == "lxc.mount.fstab" {
	say(key, val, "one volume per fstab line, as for lxc.mount.entry"); next }
key == "lxc.mount.auto" {
	say(key, val, "nothing: the runtime mounts /proc, /sys and the cgroup tree, and the peer carries them (masks and read-only flags kept)"); next }
key == "lxc.autodev" {
	say(key, val, "nothing: the runtime populates /dev; the peer carries it"); next }
key ~ /^lxc\.net\./ {
	say(key, val, "the pod network (CNI) replaces it: remove static addresses from the guest (/etc/network/interfaces, netplan, networkd)"); next }
key == "lxc.uts.name" {
	say(key, val, "the pod hostname: the StatefulSet pod name (NAME-0), or spec.hostname"); next }
key == "lxc.cap.drop" {
	say(key, val, "securityContext.capabilities.drop of the os container (or stint.ini drop-caps)"); next }
key == "lxc.cap.keep" {
	say(key, val, "securityContext.capabilities: drop [ALL], add the kept ones (upper case, no CAP_ prefix)"); next }
key ~ /^lxc\.cgroup2?\./ {
	say(key, val, "resources.limits / requests of the os container (cpu, memory); device rules have no pod equivalent"); next }
key == "lxc.environment" {
	say(key, val, "env of the os container"); next }
key ~ /^lxc\.(tty\.max|console\.|pty\.max)/ {
	say(key, val, "tty: true and stdin: true on the os container: one console, kubectl attach -it"); next }
key ~ /^lxc\.idmap$/ {
	say(key, val, "pod user namespaces (hostUsers: false); not tested with stint"); next }
key ~ /^lxc\.(apparmor|seccomp|selinux)\./ {
	say(key, val, "securityContext.appArmorProfile / seccompProfile / seLinuxOptions"); next }
key ~ /^lxc\.hook\./ {
	say(key, val, "a script run by the peer: stint-peer exec (see ../shell-flow)"); next }
key ~ /^lxc\.start\./ {
	say(key, val, "StatefulSet replicas and the pod restartPolicy"); next }
key ~ /^lxc\.(arch|include)$/ {
	say(key, val, "nothing: the architecture of the node; includes are LXC defaults"); next }
key ~ /^lxc\.log\./ {
	say(key, val, "kubectl logs shows stint, the peer and the guest console"); next }
{ odd[++nodd] = key " = " val }
END {
	if (nodd) {
		print "\nnot mapped (check by hand):"
		for (i = 1; i <= nodd; i++) print "    " odd[i]
	}
}
' "$1"
