"""Ports for servers on loopback, outside the range the kernel gives outgoing connections.

A port inside that range (``net.ipv4.ip_local_port_range``, 32768 to 60999 by default) can
be the local port of any connection of this machine when a server comes to bind it, which
then fails though nothing listens there. The dev cloud's and the stack's ports lie below
it, and :func:`free_port` (the tests' and the benchmarks' servers, a fresh clone's dev
cloud) hands out ports below it too.
"""

import random
import socket
from pathlib import Path

from . import config as c

_handed_out: set[int] = set()


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections (Linux's default where unknown)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(int(low), int(high) + 1)


def taken(number: int) -> bool:
    """Whether a server listens on ``number``."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((c.HOST, number)) == 0


def bindable(number: int) -> bool:
    """Whether ``number`` can be bound now (no server there, no connection holding it)."""
    with socket.socket() as sock:
        try:
            sock.bind((c.HOST, number))
        except OSError:
            return False
        return True


def usable(number: int) -> bool:
    return number not in ephemeral_ports() and bindable(number) and not taken(number)


def free_port() -> int:
    """A port that can be bound, below the ephemeral range (from 20000, at random, so that
    two callers seldom meet), and not handed out before by this process."""
    ephemeral = ephemeral_ports()
    low = min(20000, max(1024, ephemeral.start - 1000))
    for _ in range(200):
        number = random.randrange(low, ephemeral.start) if ephemeral.start > low else 0
        if number and number not in _handed_out and usable(number):
            _handed_out.add(number)
            return number
    with socket.socket() as sock:  # a machine whose range leaves nothing below it
        sock.bind((c.HOST, 0))
        return sock.getsockname()[1]
