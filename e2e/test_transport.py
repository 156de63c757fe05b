"""End-to-end checks that no peer without the key ends the kernel or stops
one of its sockets (run by /usr/bin/python3, driven by e2e_test.go).

Raw sockets on loopback send each of the five sockets what used to end the
kernel (a frame header announcing 2^40 bytes, READY metadata cut short),
hold handshakes that never end, and exhaust the kernel's descriptors (its
RLIMIT_NOFILE lowered with prlimit); after each, the kernel must answer a
real jupyter_client: cells run, kernel_info comes back on shell and
control, the heartbeat beats, an interrupt on control stops a cell, and a
new client can connect. Counts and times are bounded. The kernel's
resident memory before and after the attacks is printed as a figure.
"""

import os
import resource
import socket
import struct
import sys
import time
from queue import Empty

from perfnb_e2e import check, expect, run_checks

SOCKETS = ("shell", "control", "stdin", "iopub", "hb")
# The socket type a client has on each of the kernel's sockets.
PEER = {"shell": b"DEALER", "control": b"DEALER", "stdin": b"DEALER", "iopub": b"SUB", "hb": b"REQ"}


def greeting():
    return b"\xff" + b"\0" * 8 + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + b"\0" * 32


def ready(sock_type):
    props = bytes([11]) + b"Socket-Type" + struct.pack(">I", len(sock_type)) + sock_type
    body = b"\x05READY" + props
    return bytes([0x04, len(body)]) + body


def long_header(flags, size):
    return bytes([flags | 0x2]) + struct.pack(">Q", size)


def attacks(peer):
    hello = greeting() + ready(peer)
    return {
        "a frame of 2^40 bytes": hello + long_header(0, 1 << 40),
        "a frame of 2^63 bytes": hello + long_header(0x1, 1 << 63),
        "a READY of 2^40 bytes": greeting() + long_header(0x4, 1 << 40),
        "READY metadata cut short": greeting() + bytes([0x4, 8]) + b"\x05READY\x01A",
    }


def address(k, name):
    info = k.km.get_connection_info()
    return info["ip"], info[name + "_port"]


def connect(k, name):
    return socket.create_connection(address(k, name), timeout=5)


def closed_within(s, seconds):
    """Whether the kernel closes s within seconds (reading what it sends)."""
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def kernel_pid(k):
    return k.km.provisioner.pid


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def control_request(k, msg_type, content=None):
    """Sends msg_type on control and returns the reply's content."""
    msg = k.kc.session.msg(msg_type, content or {})
    k.kc.control_channel.send(msg)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            reply = k.kc.get_control_msg(timeout=1)
        except Empty:
            continue
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            return reply["content"]
    raise AssertionError("no reply to %s on control within 10 s" % msg_type)


def expect_serving(k, what):
    """The kernel answers on every socket, with the clients it had."""
    r = k.ok("40 + 2")
    expect(r.result_text() == "42", "after %s, 40 + 2 gave %r" % (what, r.result_text()))
    expect(k.request("kernel_info")["status"] == "ok", "after %s, no kernel_info on shell" % what)
    expect(control_request(k, "kernel_info_request")["status"] == "ok", "after %s, no kernel_info on control" % what)
    expect(k.kc.hb_channel.is_beating(), "after %s, the heartbeat stopped" % what)


def expect_new_client(k, what):
    """A new client connects to every socket and is answered."""
    kc = k.km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=20)
    except RuntimeError as e:
        raise AssertionError("after %s, a new client got no answer: %s" % (what, e))
    finally:
        kc.stop_channels()


def attack_every_socket(k, attack):
    for name in SOCKETS:
        s = connect(k, name)
        s.sendall(attacks(PEER[name])[attack])
        expect(closed_within(s, 5), "%s: %s: the kernel kept the connection" % (name, attack))
        s.close()


@check
def oversized_frames_and_broken_handshakes(k):
    pid = kernel_pid(k)
    k.ok("x := 42")
    before = rss_mib(pid)
    names = list(attacks(b"DEALER"))
    rounds = 20
    for _ in range(rounds):
        for attack in names:
            attack_every_socket(k, attack)
    sent = rounds * len(names) * len(SOCKETS)
    after = rss_mib(pid)
    print("  %d attacks on the five sockets: kernel RSS %.1f MiB before, %.1f MiB after" % (sent, before, after))
    expect(k.alive(), "the kernel died")
    expect_serving(k, "oversized frames")
    expect(k.ok("x").result_text() == "42", "x was lost")


@check
def half_open_handshakes(k):
    held = []
    try:
        for name in SOCKETS:
            for i in range(40):
                s = connect(k, name)
                s.sendall(greeting()[: (i % 3) * 20])  # nothing, or part of a greeting
                held.append(s)
        expect_serving(k, "%d half-open handshakes" % len(held))
        expect_new_client(k, "%d half-open handshakes" % len(held))
        t0 = time.monotonic()
        still = [s for s in held if not closed_within(s, max(0.1, 10 - (time.monotonic() - t0)))]
        print("  %d half-open handshakes closed by the kernel within %.1f s" % (len(held) - len(still), time.monotonic() - t0))
        expect(not still, "%d of %d half-open handshakes still open after 10 s" % (len(still), len(held)))
    finally:
        for s in held:
            s.close()


@check
def descriptors_exhausted(k):
    pid = kernel_pid(k)
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    open_fds = len(os.listdir("/proc/%d/fd" % pid))
    held = []
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_fds + 10, hard))
        for name in SOCKETS:
            for _ in range(8):
                held.append(connect(k, name))
        time.sleep(1)  # the accept loops meet EMFILE and back off
        r = control_request(k, "kernel_info_request")
        expect(r["status"] == "ok", "no kernel_info on control while out of descriptors")
    finally:
        for s in held:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    print("  the kernel had %d descriptors open; %d connections on a limit of %d" % (open_fds, len(held), open_fds + 10))
    expect_serving(k, "running out of descriptors")
    expect_new_client(k, "running out of descriptors")


def subscribe(topic):
    body = b"\x09SUBSCRIBE" + topic
    return b"\x06" + struct.pack(">Q", len(body)) + body


@check
def subscribers_that_never_read(k):
    """Twenty subscribers that never read: a cell printing 20 MB still
    reaches the client whole, the kernel's memory stays bounded, and the
    stalled subscribers stay connected (their messages are dropped)."""
    pid = kernel_pid(k)
    held = []
    try:
        for _ in range(20):
            s = connect(k, "iopub")
            s.sendall(greeting() + ready(b"SUB") + subscribe(b""))
            held.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        r = k.ok('line := strings.Repeat("x", 99)\nfor i := 0; i < 200000; i++ {\n\tfmt.Println(line)\n}', timeout=120)
        took = time.monotonic() - t0
        expect(len(r.stdout()) == 20000000, "the client received %d bytes of 20,000,000" % len(r.stdout()))
        rss = rss_mib(pid)
        print("  a cell printing 20 MB with 20 stalled subscribers: %.2f s, kernel RSS %.1f MiB" % (took, rss))
        expect(rss < 300, "the kernel holds %.0f MiB" % rss)
        expect(not any(closed_within(s, 0.01) for s in held), "a stalled subscriber was disconnected")
    finally:
        for s in held:
            s.close()
    expect_serving(k, "stalled subscribers")


@check
def subscription_flood(k):
    """Subscriptions are charged to what a peer may hold: a peer that
    subscribes beyond a MiB is disconnected, and the kernel keeps serving."""
    pid = kernel_pid(k)
    before = rss_mib(pid)
    s = connect(k, "iopub")
    s.sendall(greeting() + ready(b"SUB"))
    sent = 0
    try:
        for i in range(100):
            s.sendall(subscribe(b"%d-" % i + b"t" * (1 << 20)))
            sent += 1
    except OSError:
        pass
    expect(closed_within(s, 5), "a peer subscribing 100 MiB was kept (%d sent)" % sent)
    s.close()
    expect(rss_mib(pid) < before + 64, "the kernel grew from %.0f to %.0f MiB" % (before, rss_mib(pid)))
    expect_serving(k, "a subscription flood")


@check
def incomplete_messages_beyond_the_budget(k):
    """Connections sending 65,535 empty frames flagged "more" and then
    nothing are charged for each frame: beyond the budget they are closed
    at once (the others after 30 s without a byte)."""
    pid = kernel_pid(k)
    held = []
    more = b"\x01\x01x" * 65535
    try:
        for name in ("shell", "control", "stdin", "hb"):
            for _ in range(50):
                c = connect(k, name)
                c.sendall(greeting() + ready(PEER[name]) + more)
                held.append(c)
        t0, closed, rss = time.monotonic(), 0, 0.0
        while time.monotonic() - t0 < 20 and closed == 0:
            time.sleep(0.5)
            rss = max(rss, rss_mib(pid))
            closed = sum(1 for c in held if closed_within(c, 0.001))
        print("  200 connections with 65,535 frames each: %d closed for the budget within %.1f s, kernel RSS %.1f MiB"
              % (closed, time.monotonic() - t0, rss))
        expect(closed > 0, "no connection was closed for the budget")
        expect(rss < 450, "the kernel holds %.0f MiB" % rss)
    finally:
        for c in held:
            c.close()
    time.sleep(1)
    expect_serving(k, "incomplete messages")


@check
def identity_thief(k):
    """A DEALER that connects to shell with the client's identity,
    reconnecting in a loop, receives none of the client's replies, and the
    client's cells are answered."""
    import threading

    import zmq

    ctx = zmq.Context()
    stolen, stop = [0], [False]

    def thief():
        while not stop[0]:
            d = ctx.socket(zmq.DEALER)
            d.setsockopt(zmq.IDENTITY, k.kc.session.bsession)
            d.setsockopt(zmq.LINGER, 0)
            d.connect("tcp://%s:%d" % address(k, "shell"))
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                if d.poll(5):
                    d.recv_multipart()
                    stolen[0] += 1
            d.close()

    t = threading.Thread(target=thief, daemon=True)
    t.start()
    try:
        time.sleep(0.3)
        for i in range(5):
            r = k.ok("time.Sleep(200 * time.Millisecond)\n%d" % i, timeout=20)
            expect(r.result_text() == str(i), "cell %d gave %r" % (i, r.result_text()))
    finally:
        stop[0] = True
        t.join()
        ctx.term()
    expect(stolen[0] == 0, "the thief received %d messages" % stolen[0])


@check
def history_search_with_20000_stars(k):
    """A history search that a regular expression would take hours over
    is answered, and the next cell runs."""
    k.ok('histBig := "%s"\nlen(histBig)' % ("a" * (1 << 20)))
    t0 = time.monotonic()
    reply = k.request("history", hist_access_type="search", pattern="*" * 20000, output=False, raw=True)
    took = time.monotonic() - t0
    expect(reply["status"] == "ok", "history_reply %r" % reply)
    print("  a history search with 20,000 stars after a 1 MiB cell: %.3f s" % took)
    expect_serving(k, "a history search")


@check
def interrupt_after_attacks(k):
    attack_every_socket(k, "a frame of 2^40 bytes")
    msg_id = k.kc.execute("for {\n}")
    time.sleep(1)
    expect(control_request(k, "interrupt_request")["status"] == "ok", "interrupt_request failed")
    k.collect(msg_id, timeout=20)
    reply = k.shell_reply(msg_id, timeout=20)
    expect(reply["content"]["status"] == "error", "the interrupted cell's reply: %r" % reply["content"])
    expect_serving(k, "an interrupt")


@check
def shutdown_after_attacks(k):
    attack_every_socket(k, "READY metadata cut short")
    reply = control_request(k, "shutdown_request", {"restart": False})
    expect(reply["status"] == "ok", "shutdown_reply: %r" % reply)
    deadline = time.monotonic() + 10
    while k.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    expect(not k.alive(), "the kernel still runs 10 s after shutdown_request")


if __name__ == "__main__":
    sys.exit(run_checks())
