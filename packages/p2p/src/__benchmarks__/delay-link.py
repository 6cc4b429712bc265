#!/usr/bin/env python3
"""A point-to-point link with a fixed one-way delay between two network namespaces.

This kernel has no sch_netem (CONFIG_NET_SCH_NETEM is off), so the delay is added here: the
process opens persistent TUN device `tun0` in each namespace (created beforehand with
`ip tuntap add dev tun0 mode tun`), and copies every IP packet read from one to the other after
`delay_ms`. Bandwidth is shaped by a tbf qdisc on each tun0, before packets reach this process.

usage: delay-link.py NS_A NS_B DELAY_MS    (prints "ready" once both ends are open; runs until killed)
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


def open_tun_in(namespace):
    ns_fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    if libc.setns(ns_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {namespace}")
    os.close(ns_fd)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
    return fd


def main():
    ns_a, ns_b, delay_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = delay_ms / 1000.0
    a = open_tun_in(ns_a)
    b = open_tun_in(ns_b)
    peer = {a: b, b: a}
    # One FIFO per direction: with a constant delay, release times are already in order.
    queues = {a: collections.deque(), b: collections.deque()}
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        next_due = None
        for src, queue in queues.items():
            while queue and queue[0][0] <= now:
                _, packet = queue.popleft()
                try:
                    os.write(peer[src], packet)
                except BlockingIOError:
                    pass  # the receiving stack is full: drop, as a real link would
            if queue and (next_due is None or queue[0][0] < next_due):
                next_due = queue[0][0]
        timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
        readable, _, _ = select.select([a, b], [], [], timeout)
        arrival = time.monotonic()
        for fd in readable:
            for _ in range(64):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                queues[fd].append((arrival + delay, packet))


if __name__ == "__main__":
    main()
