#!/usr/bin/env python3
"""preload_peer.py - the kernel-side peers of preload_check.c (see its
header): a TCP echo server, a UDP echo server, and a client that connects
to the app again and again, sends 16 bytes and expects them back.  Says
"ready" on stderr once its ports are bound (exits non-zero if they are
taken); runs until SIGTERM, then prints how many client rounds succeeded."""
import argparse, os, signal, socket, sys, threading, time

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--kernel", required=True, help="our address (tap side)")
ap.add_argument("--stack", required=True, help="the app's stack address")
a = ap.parse_args()
rounds = 0
stop = threading.Event()

def echo_conn(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)

def tcp_echo(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()

def udp_echo(s):
    while True:
        d, src = s.recvfrom(65536)
        s.sendto(d, src)

def client():
    global rounds
    n = 0
    while not stop.is_set():
        n += 1
        msg = b"peer-%011d" % n
        try:
            with socket.create_connection((a.stack, 7201), timeout=2,
                                          source_address=(a.kernel, 0)) as c:
                c.sendall(msg)
                got = b""
                while len(got) < 16:
                    d = c.recv(16 - len(got))
                    if not d:
                        break
                    got += d
                if got == msg:
                    rounds += 1
        except OSError:
            pass
        time.sleep(0.05)

def done(*_):
    stop.set()
    print("client rounds: %d" % rounds, flush=True)
    os._exit(0)     # at once, whatever the threads are blocked in

signal.signal(signal.SIGTERM, done)
# Bind here, so that a taken port fails the run instead of a thread.
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((a.kernel, 7101))
t.listen(64)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((a.kernel, 7102))
threading.Thread(target=tcp_echo, args=(t,), daemon=True).start()
threading.Thread(target=udp_echo, args=(u,), daemon=True).start()
threading.Thread(target=client, daemon=True).start()
print("ready", file=sys.stderr, flush=True)
while True:
    time.sleep(1)
