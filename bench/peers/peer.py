"""The Python clients, with CPython's `socket` module (blocking calls), for comparison rows.
Each mode prints one JSON line, the same as bench/peers/client.c:
  peer.py udp-blast <port> <seconds> <count>   sendto of 64-byte datagrams: {"sent","seconds"}
  peer.py udp-recv                             counting receiver (recvfrom_into): prints {"port","rcvbuf"},
                                               then {"received","seconds"} after the stop marker
  peer.py udp-rr|tcp-rr <port> <seconds>       {"count","seconds","p50","p99"}
  peer.py tcp-send|tcp-recv <port> <seconds>   {"bytes","seconds"}
  peer.py percall <seconds per op>             ns per call of getsockopt, recvfrom_eagain, sendto_recvfrom,
                                               send_recv, sendto_recv (as bench/peers/percall.c)
"""
import json
import socket
import sys
import time

SIZE = 64
CHUNK = 65536
CHECK = 256


def out(obj):
    print(json.dumps(obj), flush=True)


def blast(port, seconds, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    buf = bytes(SIZE)
    to = ("127.0.0.1", port)
    sendto = s.sendto
    sent = 0
    clock = time.perf_counter
    cpu0 = time.process_time()
    start = clock()
    end = start + seconds
    while sent < count:
        for _ in range(min(CHECK, count - sent)):
            try:
                sendto(buf, to)
                sent += 1
            except (BlockingIOError, InterruptedError):
                pass
        if clock() >= end:
            break
    out({"sent": sent, "seconds": clock() - start, "cpu": time.process_time() - cpu0})


def udp_recv():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    out({"port": s.getsockname()[1], "rcvbuf": s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)})
    buf = bytearray(2048)
    recv = s.recvfrom_into
    received = 0
    first = last = None
    cpu0 = 0
    clock = time.perf_counter
    while True:
        n, _ = recv(buf)
        if n != SIZE:
            break
        received += 1
        last = clock()
        if first is None:
            first = last
            cpu0 = time.process_time()
    out({"received": received, "seconds": (last - first) if first is not None else 0, "cpu": time.process_time() - cpu0})


def rr(tcp, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    if tcp:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = bytes([1]) * SIZE
    buf = bytearray(2048)
    send, recv = s.send, s.recv_into
    clock = time.perf_counter_ns

    def once():
        send(msg)
        got = 0
        while got < SIZE:
            n = recv(buf)
            if n <= 0:
                raise ConnectionError("echo peer closed")
            got += n

    for _ in range(200):
        once()
    lat = []
    start = prev = clock()
    end = start + int(seconds * 1e9)
    while True:
        once()
        t = clock()
        lat.append(t - prev)
        prev = t
        if t >= end:
            break
    lat.sort()
    n = len(lat)
    out({"count": n, "seconds": (prev - start) / 1e9, "p50": lat[int(n * 0.5)] / 1e3, "p99": lat[int(n * 0.99)] / 1e3})


def stream(recv_side, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    buf = bytearray(CHUNK)
    clock = time.perf_counter
    total = 0
    start = clock()
    end = start + seconds
    if recv_side:
        recv = s.recv_into
        while True:
            n = recv(buf)
            if n <= 0:
                raise ConnectionError("source closed")
            total += n
            if clock() >= end:
                break
    else:
        view = memoryview(buf)
        send = s.send
        while True:
            off = 0
            while off < CHUNK:
                off += send(view[off:])
            if clock() >= end:
                break
        s.shutdown(socket.SHUT_WR)
        c = b""
        while len(c) < 8:
            part = s.recv(8 - len(c))
            if not part:
                raise ConnectionError("sink closed")
            c += part
        total = int.from_bytes(c, "little")
    out({"bytes": total, "seconds": clock() - start})


def percall(seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    me = s.getsockname()
    buf = bytes([2]) * SIZE
    rbuf = bytearray(2048)
    SOL_SOCKET, SO_TYPE, DONTWAIT = socket.SOL_SOCKET, socket.SO_TYPE, socket.MSG_DONTWAIT
    getsockopt, sendto, recvfrom_into = s.getsockopt, s.sendto, s.recvfrom_into

    def op_getsockopt():
        getsockopt(SOL_SOCKET, SO_TYPE)

    def op_eagain():
        try:
            recvfrom_into(rbuf, 0, DONTWAIT)
        except BlockingIOError:
            pass
        else:
            raise RuntimeError("expected EAGAIN")

    def op_pair():
        sendto(buf, me)
        recvfrom_into(rbuf)

    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("127.0.0.1", 0))
    c.connect(c.getsockname())
    csend, crecv = c.send, c.recv_into
    recv_into = s.recv_into

    def op_send_recv():
        csend(buf)
        crecv(rbuf)

    def op_sendto_recv():
        sendto(buf, me)
        recv_into(rbuf)

    res = {}
    clock = time.perf_counter
    ops = (("getsockopt", op_getsockopt), ("recvfrom_eagain", op_eagain), ("sendto_recvfrom", op_pair),
           ("send_recv", op_send_recv), ("sendto_recv", op_sendto_recv))
    for name, op in ops:
        w = clock() + seconds / 10
        while clock() < w:
            for _ in range(1000):
                op()
        calls = 0
        start = clock()
        end = start + seconds
        while True:
            for _ in range(1000):
                op()
            calls += 1000
            t = clock()
            if t >= end:
                break
        res[name] = (t - start) * 1e9 / calls
    out(res)


def main():
    mode = sys.argv[1]
    a = sys.argv[2:]
    if mode == "udp-blast":
        blast(int(a[0]), float(a[1]), int(a[2]) if len(a) > 2 else 1 << 62)
    elif mode == "udp-recv":
        udp_recv()
    elif mode in ("udp-rr", "tcp-rr"):
        rr(mode == "tcp-rr", int(a[0]), float(a[1]))
    elif mode in ("tcp-send", "tcp-recv"):
        stream(mode == "tcp-recv", int(a[0]), float(a[1]))
    elif mode == "percall":
        percall(float(a[0]))
    else:
        sys.exit(f"peer.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
