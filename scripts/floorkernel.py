"""floorkernel: a Jupyter kernel that does nothing, for scripts/bench-kernel.

It answers kernel_info, execute (busy, execute_input, execute_reply, idle,
without running anything), shutdown and the heartbeat with the least work
pyzmq allows, so that a client's round trip to it is the client's own
floor: what no kernel can go below with that client on this machine.

usage: /usr/bin/python3 floorkernel.py CONNECTION_FILE
"""

import datetime
import hashlib
import hmac
import json
import sys
import uuid

import zmq


def main(path):
    with open(path) as f:
        cfg = json.load(f)
    key = cfg["key"].encode()
    ctx = zmq.Context()

    def bind(kind, port):
        s = ctx.socket(kind)
        s.bind("%s://%s:%d" % (cfg["transport"], cfg["ip"], port))
        return s

    shell, control = bind(zmq.ROUTER, cfg["shell_port"]), bind(zmq.ROUTER, cfg["control_port"])
    iopub, hb = bind(zmq.PUB, cfg["iopub_port"]), bind(zmq.REP, cfg["hb_port"])
    bind(zmq.ROUTER, cfg["stdin_port"])

    def send(sock, idents, msg_type, parent, content):
        header = json.dumps({"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "floor",
                             "session": "floor", "version": "5.3",
                             "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}).encode()
        parts = [header, parent, b"{}", json.dumps(content).encode()]
        sig = hmac.new(key, digestmod=hashlib.sha256)
        for p in parts:
            sig.update(p)
        sock.send_multipart(idents + [b"<IDS|MSG>", sig.hexdigest().encode()] + parts)

    poller = zmq.Poller()
    for s in (shell, control, hb):
        poller.register(s, zmq.POLLIN)
    count = 0
    while True:
        for s, _ in poller.poll():
            if s is hb:
                hb.send(hb.recv())
                continue
            frames = s.recv_multipart()
            i = frames.index(b"<IDS|MSG>")
            idents, parent = frames[:i], frames[i + 2]
            msg_type = json.loads(parent)["msg_type"]
            send(iopub, [b"status"], "status", parent, {"execution_state": "busy"})
            if msg_type == "kernel_info_request":
                send(s, idents, "kernel_info_reply", parent, {
                    "status": "ok", "protocol_version": "5.3", "implementation": "floor",
                    "implementation_version": "0", "banner": "", "help_links": [],
                    "language_info": {"name": "go", "version": "1", "mimetype": "text/x-go",
                                      "file_extension": ".go"}})
            elif msg_type == "execute_request":
                count += 1
                send(iopub, [b"execute_input"], "execute_input", parent, {"code": "", "execution_count": count})
                send(s, idents, "execute_reply", parent, {"status": "ok", "execution_count": count,
                                                          "user_expressions": {}, "payload": []})
            elif msg_type == "shutdown_request":
                send(s, idents, "shutdown_reply", parent, {"status": "ok", "restart": False})
                send(iopub, [b"status"], "status", parent, {"execution_state": "idle"})
                return
            send(iopub, [b"status"], "status", parent, {"execution_state": "idle"})


if __name__ == "__main__":
    main(sys.argv[1])
