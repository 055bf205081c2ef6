#!/usr/bin/python3
"""A test peer written from docs/protocol.md alone, in another language than
stint, to keep the protocol honest. Usage: pypeer.py SOCKET ACTION [ARGS]

  info                 print the HELLO and, per namespace fd, whether it is
                       the same namespace as the init's (via SO_PEERCRED pid)
  ready [PATH|pivoted] send READY (chroot to PATH, "" = default root) and
                       print the reply: ACK or ERROR: reason
  eventfd              write 1 to the READY eventfd
  abort REASON         send ABORT
  raw HEX              send these bytes as one datagram; print the reply
  disconnect           take the HELLO and hang up
  hold SECONDS         take the HELLO and stay connected, silent
"""
import array
import os
import socket
import struct
import sys
import time

HDR = struct.Struct("=4sHHI")
HELLO, READY, ABORT, ACK, ERROR = 1, 2, 3, 4, 5
TAGS = {1: "mnt", 2: "pid", 3: "net", 4: "ipc", 5: "uts", 6: "user", 7: "cgroup",
        8: "time", 9: "pid_for_children", 10: "time_for_children", 11: "pidfd",
        12: "root", 13: "ready"}


def msg(mtype, payload=b""):
    return HDR.pack(b"STNT", 1, mtype, len(payload)) + payload


def recv(sock, maxfds=16):
    data, fds, flags, _ = socket.recv_fds(sock, 8192, maxfds)
    if not data:
        return None, None, []
    magic, ver, mtype, length = HDR.unpack_from(data)
    assert magic == b"STNT" and ver == 1 and length == len(data) - HDR.size, data
    return mtype, data[HDR.size:], fds


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    mtype, payload, fds = recv(s)
    if mtype is None:
        print("closed before HELLO")
        sys.exit(3)
    assert mtype == HELLO, mtype
    pid, nfds, rlen = struct.unpack_from("=III", payload)
    tags = struct.unpack_from("=%dI" % nfds, payload, 12)
    root = payload[12 + 4 * nfds:].decode()
    assert len(fds) == nfds and rlen == len(root)
    return s, pid, dict(zip((TAGS[t] for t in tags), fds)), root


def reply(s):
    mtype, payload, _ = recv(s)
    if mtype is None:
        return "closed"
    if mtype == ACK:
        return "ACK"
    return {ERROR: "ERROR", ABORT: "ABORT"}.get(mtype, str(mtype)) + ": " + payload.decode()


def info(s, pid, fds, root):
    print("hello pid=%d root=%s fds=%s" % (pid, root, ",".join(sorted(fds))))
    # SO_PEERCRED gives the init's pid as seen from here.
    host_pid = struct.unpack("=3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    for name, fd in sorted(fds.items()):
        if name in ("pidfd", "root", "ready"):
            continue
        mine = os.fstat(fd).st_ino
        theirs = os.stat("/proc/%d/ns/%s" % (host_pid, name)).st_ino
        print("ns %s %s %d" % (name, "same" if mine == theirs else "DIFFERENT", mine))
    if "root" in fds:
        st = os.fstat(fds["root"])
        ref = os.stat("/proc/%d/root/" % host_pid)
        print("root %s" % ("same" if (st.st_dev, st.st_ino) == (ref.st_dev, ref.st_ino) else "DIFFERENT"))


def main():
    path, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if action == "raw":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        recv(s)
        s.send(bytes.fromhex(args[0]) if args[0] != "big" else msg(ABORT, b"x" * 9000))
        print(reply(s))
        return
    s, pid, fds, root = connect(path)
    if action == "info":
        info(s, pid, fds, root)
    elif action == "ready":
        target = args[0] if args else ""
        if target == "pivoted":
            s.send(msg(READY, struct.pack("=II", 2, 0)))
        else:
            p = target.encode()
            s.send(msg(READY, struct.pack("=II", 1, len(p)) + p))
        print(reply(s))
    elif action == "eventfd":
        os.write(fds["ready"], struct.pack("=Q", 1))
    elif action == "abort":
        s.send(msg(ABORT, args[0].encode()))
        time.sleep(0.2)
    elif action == "disconnect":
        pass
    elif action == "hold":
        time.sleep(float(args[0]))
    else:
        sys.exit("unknown action " + action)


main()
