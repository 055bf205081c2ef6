# An OS image for stint: any OS image with an init, plus the static stint
# as PID 1. BASE is that image (Debian with systemd, say).
#   make static
#   buildah build -f k8s/images/Containerfile.os --build-arg BASE=IMAGE -t my-os build/static
# From a root tarball instead (an LXC container, a VM's files) see
# examples/lxc-migration/build-image.sh.
ARG BASE
FROM ${BASE}
COPY stint /usr/sbin/stint
# The mount point of the new root (stint's default --root). The peer
# creates it when missing, unless the container's root is read-only.
RUN mkdir -p /.stint/root /etc/stint /run/stint
# systemd halts on SIGRTMIN+3 (SIGTERM makes it re-execute itself); use
# SIGUSR2 for busybox init, SIGPWR for sysvinit.
ARG STOP_SIGNAL=SIGRTMIN+3
STOPSIGNAL ${STOP_SIGNAL}
ENTRYPOINT ["/usr/sbin/stint"]
CMD ["/sbin/init"]
