#!/bin/sh
# The peer container's command for the shell flow: wait for the init's
# socket, run setup.sh under `stint-peer exec`, then wait for the socket to
# go (the init switched root and removed it) and for the next one (the OS
# container restarted). Stays up, as a sidecar must; SIGTERM ends it.
SOCKET=${STINT_SOCKET:-/run/stint/stint.sock}
SETUP=${SETUP:-$(dirname "$0")/setup.sh}
trap 'exit 0' TERM INT

while :; do
	while [ ! -S "$SOCKET" ]; do sleep 0.2; done
	if ! stint-peer -s "$SOCKET" exec -- sh "$SETUP"; then
		# A socket left by a dead init refuses connections; a live init
		# that got ABORT exits. Either way: try again shortly.
		echo "peer.sh: setup failed; trying again" >&2
		sleep 1
		continue
	fi
	while [ -S "$SOCKET" ]; do sleep 0.2; done
done
