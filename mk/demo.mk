# make demo: one command that shows stint working on a fresh Debian machine
# (as root; it apt-get installs what is missing, builds, runs a runc pod with
# a busybox OS, restarts it with the same PV, and cleans up). demo/run.sh.

demo:
	@demo/run.sh

.PHONY: demo
