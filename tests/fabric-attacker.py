#!/usr/bin/env python3
"""A client that holds idle connections to the fabric's listeners and says
nothing, as a stray or hostile process would (tests/t61-fabric-attack.sh).

  fabric-attacker.py hold N TARGET...   N connections to each target, held
                                        until killed; prints "holding K"
  fabric-attacker.py probe TARGET       connects once, prints how many bytes
                                        the listener sent within 2 s
  fabric-attacker.py squat NAME...      binds abstract unix names and holds
                                        them; prints "squatting K"

A TARGET is tcp:HOST:PORT or unix:@NAME (an abstract name).
"""
import socket
import sys
import time


def connect(target):
    kind, _, where = target.partition(":")
    if kind == "tcp":
        host, _, port = where.rpartition(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect((host, int(port)))
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + where.lstrip("@"))
    return s


def hold(n, targets):
    held = []
    for t in targets:
        for _ in range(n):
            try:
                held.append(connect(t))
            except OSError as e:
                print("connect %s: %s" % (t, e), file=sys.stderr)
    print("holding %d" % len(held), flush=True)
    while True:
        time.sleep(3600)


def probe(target):
    s = connect(target)
    s.settimeout(2)
    got = b""
    try:
        while len(got) < 4096:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    print(len(got), flush=True)


def squat(names):
    held = []
    for name in names:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\0" + name.lstrip("@"))
        s.listen(16)
        held.append(s)
    print("squatting %d" % len(held), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(int(sys.argv[2]), sys.argv[3:])
    elif sys.argv[1] == "probe":
        probe(sys.argv[2])
    elif sys.argv[1] == "squat":
        squat(sys.argv[2:])
