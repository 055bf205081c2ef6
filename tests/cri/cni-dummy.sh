#!/bin/sh
# A CNI plugin for tests/cri that keeps the pod's network inside the pod:
# ADD makes a veth pair whose two ends both stay in the sandbox's network
# namespace (eth0 with a documentation address, RFC 5737 TEST-NET-1, and
# its unused peer), and nothing on the node (no bridge, no host-side veth,
# no IPAM files), so nothing is left when the runtime deletes the
# namespace. (A dummy device would do, but this kernel has no dummy
# driver.) containerd's CRI
# plugin needs an eth0 with an address in the result; the loopback plugin
# brings lo up beside it. DEL and CHECK have nothing to undo or verify.
# Config keys: "address" (default 192.0.2.10/32), "record" (a file where
# ADD appends the namespace's path: the test checks that every namespace
# made for its own pods is gone, whatever other runs make meanwhile).
set -eu
conf=$(cat)
ver=$(printf '%s' "$conf" | sed -n 's/.*"cniVersion" *: *"\([^"]*\)".*/\1/p')
addr=$(printf '%s' "$conf" | sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p')
: "${addr:=192.0.2.10/32}"
record=$(printf '%s' "$conf" | sed -n 's/.*"record" *: *"\([^"]*\)".*/\1/p')
case "${CNI_COMMAND:-}" in
ADD)
	[ -z "$record" ] || echo "$CNI_NETNS" >>"$record"
	nsenter --net="$CNI_NETNS" ip link add "$CNI_IFNAME" type veth peer name "$CNI_IFNAME-peer"
	nsenter --net="$CNI_NETNS" ip addr add "$addr" dev "$CNI_IFNAME"
	nsenter --net="$CNI_NETNS" ip link set "$CNI_IFNAME" up
	mac=$(nsenter --net="$CNI_NETNS" ip -o link show dev "$CNI_IFNAME" |
		sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
	printf '{"cniVersion":"%s","interfaces":[{"name":"%s","mac":"%s","sandbox":"%s"}],' \
		"$ver" "$CNI_IFNAME" "$mac" "$CNI_NETNS"
	printf '"ips":[{"address":"%s","interface":0}]}\n' "$addr"
	;;
DEL | CHECK) ;;
VERSION) printf '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}\n' ;;
*)
	printf '{"cniVersion":"1.0.0","code":4,"msg":"unknown CNI_COMMAND %s"}\n' "${CNI_COMMAND:-}"
	exit 1
	;;
esac
