#!/usr/bin/env python3
"""Links with a fixed one-way delay between N network namespaces (IPv4 only): a star, or for N = 2
a point-to-point link.

This machine's kernel has no sch_netem, so latency is added in user space: each namespace has a
persistent TUN device `tun0` (created beforehand with `ip tuntap add dev tun0 mode tun`) whose
address ends in i+1 for namespace i (e.g. 10.77.30.1 and 10.77.30.2, or 10.231.0.1..N); this process
reads every IP packet leaving namespace i and, after `delay_ms`, writes it into the namespace that
owns the destination address (its last octet − 1). Rate limits are tbf qdiscs on each tun0,
applied before packets reach this process. Used by @psyche/p2p's shaped-link bench and by
examples/reference-node's bench:links.

usage: delay-hub.py DELAY_MS NS_0 NS_1 ...   (prints "ready" once every end is open; runs until killed)
"""
import collections
import ctypes
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def tun_in_namespace(namespace):
    ns_fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(ns_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {namespace}")
    finally:
        os.close(ns_fd)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
    return fd


def main():
    delay = float(sys.argv[1]) / 1000.0
    fds = [tun_in_namespace(name) for name in sys.argv[2:]]
    # Packets in flight, in release order (the delay is constant, so arrival order is release order).
    in_flight = collections.deque()
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        while in_flight and in_flight[0][0] <= now:
            _, destination, packet = in_flight.popleft()
            try:
                os.write(fds[destination], packet)
            except BlockingIOError:
                pass  # the receiving stack is full: drop, as a real link would
        timeout = None if not in_flight else max(0.0, in_flight[0][0] - time.monotonic())
        readable, _, _ = select.select(fds, [], [], timeout)
        arrival = time.monotonic()
        for fd in readable:
            for _ in range(64):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(packet) < 20 or packet[0] >> 4 != 4:
                    continue  # not IPv4: dropped
                destination = packet[19] - 1
                if 0 <= destination < len(fds):
                    in_flight.append((arrival + delay, destination, packet))


if __name__ == "__main__":
    main()
