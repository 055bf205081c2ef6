#!/usr/bin/env bash
# Read an LXC container config (/var/lib/lxc/NAME/config) and print what each
# key becomes with stint on Kubernetes: build-image.sh flags, stint.ini keys,
# and pod spec fields. Keys it does not know are listed at the end so none
# is dropped silently. With --export it also copies the container's root
# file system, ready for build-image.sh; the container is only read.
#
#   lxc2stint.sh [--export DIR [--keep-identity]] CONFIG
#
# --export DIR: copy the root (lxc.rootfs.path, a directory; or rootfs/
# next to CONFIG when that path does not exist, e.g. on another machine)
# into DIR (new or empty), numeric owners, modes, xattrs and ACLs kept, the
# owners shifted back to the container's own ids where lxc.idmap lines map
# them (an unprivileged container's files belong to host ids such as
# 100000+), then apply ../vm-migration/fix-root.sh to it: nothing in the
# guest configures network interfaces any more (the pod's network is the
# CNI's; an unprivileged pod has no CAP_NET_ADMIN), and machine-id and SSH
# host keys are removed so that each pod makes its own (--keep-identity
# keeps them: one container into one pod). Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() {
	echo "usage: lxc2stint.sh [--export DIR [--keep-identity]] /var/lib/lxc/NAME/config" >&2
	exit 2
}
export_dir='' keep=()
while [ $# -gt 0 ]; do
	case $1 in
	--export) [ $# -ge 2 ] || usage; export_dir=$2; shift 2 ;;
	--keep-identity) keep=(--keep-identity); shift ;;
	-h | --help) sed -n '/^#   lxc2stint/,/^# keeps them/s/^# \{0,3\}//p' "$0"; exit 0 ;;
	-*) echo "lxc2stint: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
config=$1
[ -f "$config" ] || { echo "lxc2stint: $config: no such file" >&2; exit 2; }

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
	say(key, val, "the pod network (CNI) replaces it; --export turns off what configures interfaces in the guest (ifupdown, DHCP, netplan, NetworkManager, networkd: no CAP_NET_ADMIN in the pod)"); next }
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
	say(key, val, "the container'"'"'s files belong to the shifted host ids: --export shifts them back; in the pod, user namespaces (hostUsers: false) are not tested with stint"); next }
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
' "$config"

[ -n "$export_dir" ] || exit 0

# --export: everything below changes only DIR. Its messages go to stderr;
# stdout is the mapping above.
say() { echo "lxc2stint: $*" >&2; }
die() { echo "lxc2stint: $*" >&2; exit 1; }

# value KEY: the last value of KEY in the config (LXC: the last one wins).
value() {
	awk -v k="$1" '{
		eq = index($0, "="); if (!eq) next
		key = substr($0, 1, eq - 1); v1 = substr($0, eq + 1)
		gsub(/^[ \t]+|[ \t]+$/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", v1)
		if (key == k) v = v1
	} END { print v }' "$config"
}

rootfs=$(value lxc.rootfs.path)
[ -n "$rootfs" ] || rootfs=$(value lxc.rootfs) # LXC 2.0's name
case $rootfs in
dir:*) rootfs=${rootfs#dir:} ;;
*:*) die "lxc.rootfs.path = $rootfs: not a directory; mount that storage and copy its root by hand (README.md)" ;;
esac
if [ ! -d "$rootfs/etc" ]; then
	alt=$(cd "$(dirname "$config")" && pwd)/rootfs
	[ -d "$alt/etc" ] || die "no root file system: neither ${rootfs:-lxc.rootfs.path} nor $alt holds /etc"
	say "lxc.rootfs.path ${rootfs:-(unset)} not found here: using $alt"
	rootfs=$alt
fi
mkdir -p "$export_dir"
[ -z "$(ls -A "$export_dir")" ] || die "$export_dir is not empty"

# The owners as the container sees them. `lxc.idmap = u 0 100000 65536`
# means container uid 0.. is host uid 100000..: the files on the host carry
# the host ids. tar maps each distinct id found (--owner-map/--group-map
# take single ids, not ranges); ids outside every range are kept.
idmaps=$(awk -F= '{k = $1; gsub(/[ \t]/, "", k)} k == "lxc.idmap" || k == "lxc.id_map" {print $2}' "$config")
maps=$(mktemp -d /tmp/lxc2stint.XXXXXX)
trap 'rm -rf "$maps"' EXIT
: >"$maps/u"
: >"$maps/g"
if [ -n "$idmaps" ]; then
	find "$rootfs" -xdev -printf '%U %G\n' | sort -u | awk -v maps="$idmaps" -v dir="$maps" '
		BEGIN {
			n = split(maps, line, "\n")
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				if (f[1] != "u" && f[1] != "g" && f[1] != "b") continue
				nm++; kind[nm] = f[1]; ns[nm] = f[2]; host[nm] = f[3]; len[nm] = f[4]
			}
		}
		function shift(id, k,   i) {
			for (i = 1; i <= nm; i++)
				if ((kind[i] == k || kind[i] == "b") && id >= host[i] && id < host[i] + len[i])
					return ns[i] + id - host[i]
			return -1
		}
		{
			u = shift($1, "u"); g = shift($2, "g")
			if (u >= 0 && !(seenu[$1]++)) print "+" $1 " +" u >(dir "/u")
			if (g >= 0 && !(seeng[$2]++)) print "+" $2 " +" g >(dir "/g")
			if (u < 0 && !(outu[$1]++)) print "uid " $1 " is outside lxc.idmap: kept" >"/dev/stderr"
			if (g < 0 && !(outg[$2]++)) print "gid " $2 " is outside lxc.idmap: kept" >"/dev/stderr"
		}'
	say "owners shifted back by lxc.idmap: $(wc -l <"$maps/u") uids, $(wc -l <"$maps/g") gids"
fi
tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' --acls \
	--owner-map="$maps/u" --group-map="$maps/g" -cpf - . |
	tar -C "$export_dir" --numeric-owner --xattrs --xattrs-include='*' --acls -xpf -
say "$rootfs copied to $export_dir"
"$here/../vm-migration/fix-root.sh" "${keep[@]}" "$export_dir" >&2
