"""Shared helpers of perfnb's end-to-end scripts (run by /usr/bin/python3).

A Kernel wraps jupyter_client's KernelManager and BlockingKernelClient and
collects, for one request, the shell reply and every iopub message whose
parent is that request. Checks are plain functions registered with @check;
run_checks runs them in order on one kernel, prints "PASS name" or
"FAIL name: why" for each (the Go test reads these lines) and exits non-zero
if any failed.
"""

import os
import re
import sys
import time
import traceback
from queue import Empty

from jupyter_client.manager import KernelManager

try:  # Debian's python3-jupyter-kernel-test: the protocol's JSON schemas
    from jupyter_kernel_test import msgspec_v5
except ImportError:  # pragma: no cover - the checks then skip validation
    msgspec_v5 = None

KERNEL_NAME = os.environ.get("PERFNB_KERNEL", "perfnb")
TIMEOUT = float(os.environ.get("PERFNB_E2E_TIMEOUT", "60"))

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(s):
    return ANSI.sub("", s)


class CheckFailed(AssertionError):
    pass


def expect(cond, message, *detail):
    if not cond:
        if detail:
            message += "\n" + "\n".join(str(d) for d in detail)
        raise CheckFailed(message)


def validate(msg):
    """Checks msg against the messaging protocol's schema (where
    jupyter_kernel_test has one for its type)."""
    if msgspec_v5 is None:
        return
    msg_type = msg["header"]["msg_type"]
    if msg_type not in msgspec_v5.schema_fragments:
        return
    if msg["content"].get("status") == "aborted":
        return  # the protocol's name; jupyter_kernel_test 0.4.5 only knows "abort"
    clean = {key: value for key, value in msg.items() if not key.startswith("_")}
    if msg_type == "input_request" and isinstance(clean["content"].get("password"), bool):
        # The protocol says boolean; jupyter_kernel_test 0.4.5's schema says number.
        clean = dict(clean, content=dict(clean["content"], password=int(clean["content"]["password"])))
    try:
        msgspec_v5.validate_message(clean)
    except Exception as e:  # noqa: BLE001 - jsonschema's ValidationError and others
        raise CheckFailed("%s does not follow the protocol: %s\n%r" % (msg_type, str(e).split("\n")[0], clean))


class Result:
    """The reply and outputs of one execute_request."""

    def __init__(self, code, reply, messages, stdin_requests):
        self.code = code
        self.reply = reply
        self.content = reply["content"] if reply else {}
        self.status = self.content.get("status")
        self.messages = messages
        self.stdin_requests = stdin_requests

    def outputs(self):
        """The iopub messages a notebook would keep as outputs."""
        keep = {"stream", "display_data", "execute_result", "error", "update_display_data", "clear_output"}
        return [m for m in self.messages if m["msg_type"] in keep]

    def of_type(self, msg_type):
        return [m for m in self.messages if m["msg_type"] == msg_type]

    def stdout(self):
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout")

    def stderr(self):
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr")

    def result_text(self):
        res = self.of_type("execute_result")
        return res[0]["content"]["data"].get("text/plain") if res else None

    def errors(self):
        return self.of_type("error")

    def error_text(self):
        parts = []
        for m in self.errors():
            c = m["content"]
            parts.append("%s: %s" % (c.get("ename"), c.get("evalue")))
            parts.extend(c.get("traceback", []))
        return strip_ansi("\n".join(parts))

    def all_text(self):
        """Every piece of text output: streams, text/plain, errors."""
        parts = []
        for m in self.messages:
            c = m["content"]
            if m["msg_type"] == "stream":
                parts.append(c["text"])
            elif m["msg_type"] in ("display_data", "execute_result", "update_display_data"):
                parts.append(c["data"].get("text/plain", ""))
        parts.append(self.error_text())
        return "\n".join(parts)

    def describe(self):
        lines = ["code: %r" % self.code, "reply status: %s" % self.status]
        for m in self.messages:
            if m["msg_type"] == "status":
                continue
            c = dict(m["content"])
            if m["msg_type"] == "execute_input":
                continue
            text = repr(c)
            if len(text) > 600:
                text = text[:600] + "..."
            lines.append("  %s %s" % (m["msg_type"], text))
        if self.status == "error" and not self.errors():
            lines.append("  reply: %r" % self.content)
        return "\n".join(lines)


class Kernel:
    def __init__(self, name=KERNEL_NAME, env=None, cwd=None):
        """Starts a kernel; env, when given, is added to its environment;
        cwd, when given, is its working directory (the notebook's folder)."""
        self.name = name
        self.km = KernelManager(kernel_name=name)
        kwargs = {"cwd": cwd} if cwd else {}
        if env:
            self.km.start_kernel(env=dict(os.environ, **env), **kwargs)
        else:
            self.km.start_kernel(**kwargs)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT)

    def drain(self):
        for get in (self.kc.get_iopub_msg, self.kc.get_shell_msg, self.kc.get_stdin_msg):
            while True:
                try:
                    get(timeout=0.05)
                except Empty:
                    break

    def shell_reply(self, msg_id, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            expect(left > 0, "no shell reply to %s within %.0f s" % (msg_id, timeout))
            try:
                msg = self.kc.get_shell_msg(timeout=left)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                validate(msg)
                return msg

    def collect(self, msg_id, timeout=TIMEOUT, stdin=None, on_message=None):
        """Collects iopub messages of msg_id until its idle status.

        stdin, when given, is called with each input_request's content and
        returns the text to answer.
        """
        messages, stdin_requests, problems = [], [], []

        def check(msg):
            try:
                validate(msg)
            except CheckFailed as e:
                problems.append(str(e))

        deadline = time.monotonic() + timeout
        while True:
            expect(time.monotonic() < deadline, "no idle status for %s within %.0f s; got so far: %s"
                   % (msg_id, timeout, [m["msg_type"] for m in messages]))
            if stdin is not None:
                try:
                    req = self.kc.get_stdin_msg(timeout=0.01)
                except Empty:
                    pass
                else:
                    stdin_requests.append(req)
                    self.kc.input(stdin(req["content"]))
                    check(req)
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            check(msg)
            msg["_received"] = time.monotonic()
            messages.append(msg)
            if on_message:
                on_message(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                expect(not problems, "\n".join(problems))
                return messages, stdin_requests

    def execute(self, code, timeout=TIMEOUT, stdin=None, **kwargs):
        kwargs.setdefault("allow_stdin", stdin is not None)
        msg_id = self.kc.execute(code, **kwargs)
        messages, stdin_requests = self.collect(msg_id, timeout, stdin)
        reply = self.shell_reply(msg_id, timeout)
        return Result(code, reply, messages, stdin_requests)

    def ok(self, code, **kwargs):
        """Executes code and fails unless the reply is ok with no error output."""
        r = self.execute(code, **kwargs)
        expect(r.status == "ok" and not r.errors(), "cell failed", r.describe())
        return r

    def request(self, method, *args, **kwargs):
        msg_id = getattr(self.kc, method)(*args, **kwargs)
        return self.shell_reply(msg_id)["content"]

    def alive(self):
        return self.km.is_alive()

    def shutdown(self):
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def run_checks(checks=None, argv=None, **kernel_args):
    """Runs the registered checks (or those named on the command line) on
    one kernel, starting a fresh kernel after a check that killed it;
    kernel_args (env, cwd) are Kernel's."""
    argv = sys.argv[1:] if argv is None else argv
    checks = checks if checks is not None else CHECKS
    if argv:
        checks = [c for c in checks if c.__name__ in argv]
    if not checks:
        return 0
    start = time.monotonic()
    try:
        k = Kernel(**kernel_args)
    except Exception as e:  # noqa: BLE001 - reported to the Go test
        print("FAIL start: the kernel %r did not start: %s" % (KERNEL_NAME, e), flush=True)
        return 1
    print("kernel %s ready in %.2f s" % (KERNEL_NAME, time.monotonic() - start), flush=True)
    failed = 0
    try:
        for c in checks:
            t0 = time.monotonic()
            ok = False
            try:
                c(k)
            except CheckFailed as e:
                failed += 1
                print("FAIL %s: %s" % (c.__name__, str(e).replace("\n", "\n    ")), flush=True)
            except Exception:  # noqa: BLE001 - reported to the Go test
                failed += 1
                tb = traceback.format_exc().replace("\n", "\n    ")
                print("FAIL %s: %s" % (c.__name__, tb), flush=True)
            else:
                print("PASS %s (%.2f s)" % (c.__name__, time.monotonic() - t0), flush=True)
                ok = True
            if not ok and k.alive():
                # The check may have left a cell running or waiting for
                # input: interrupt it so that the next check starts clean.
                try:
                    k.km.interrupt_kernel()
                    time.sleep(0.5)
                except Exception:  # noqa: BLE001
                    pass
            if not k.alive():
                print("note: the kernel died during %s; starting a new one" % c.__name__, flush=True)
                try:
                    k.kc.stop_channels()
                except Exception:  # noqa: BLE001
                    pass
                k = Kernel(**kernel_args)
            else:
                k.drain()
    finally:
        try:
            k.shutdown()
        except Exception as e:  # noqa: BLE001
            print("note: shutdown: %s" % e, flush=True)
    print("%d checks, %d failed" % (len(checks), failed), flush=True)
    return 1 if failed else 0
