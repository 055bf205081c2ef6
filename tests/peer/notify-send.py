"""notify-send.py PID PATH MESSAGE: send one sd_notify datagram to PATH as
resolved inside the mount namespace of PID (the way the booted OS sees it),
proving the notify socket the peer bound into the new root reaches it."""
import ctypes
import os
import socket
import sys

CLONE_NEWNS = 0x00020000

pid, path, msg = sys.argv[1], sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if libc.setns(fd, CLONE_NEWNS) != 0:
    err = ctypes.get_errno()
    raise OSError(err, f"setns into {pid}'s mount namespace: {os.strerror(err)}")
sock.sendto(msg.encode().replace(b"\\n", b"\n"), path)
