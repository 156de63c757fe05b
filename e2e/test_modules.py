"""End-to-end checks of packages outside the standard library: the
notebook's own module and third-party modules, in interpreted cells and in
the magics, through jupyter_client.

The Go test makes a module (see TestModules in e2e_test.go) and names it in
PERFNB_E2E_MODULE; each kernel starts in its notebooks/ folder, as Jupyter
starts a kernel in the notebook's folder:

- offline (GOPROXY=off): the module's packages, imported, called, measured,
  profiled; an edit to the package's source measured by the next magic;
  the failures that need no network;
- without a C compiler: plugins cannot be built, so the interpreter reads
  the source; a cgo package is a clear error;
- with the Go module proxy: a small third-party module;
- with a proxy that never answers: progress shows, and an interrupt stops
  the download.

Run: PERFNB_E2E_MODULE=DIR JUPYTER_PATH=... /usr/bin/python3 e2e/test_modules.py [check ...]
"""

import os
import platform
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from perfnb_e2e import expect, run_checks

BUILD_TIMEOUT = 300

TIMEIT = re.compile(r"^\d+(\.\d+)? (ns|µs|μs|ms|s) ± .* per loop \(mean ± std\. dev\. of \d+ runs?, [\d,]+ loops? each\)$", re.MULTILINE)
MEMIT = re.compile(r"^peak memory: (\d+(?:\.\d+)?) MiB, increment: (-?\d+(?:\.\d+)?) MiB$", re.MULTILINE)
VARIANT = re.compile(r"^(\w+):\s+(\d+(?:\.\d+)?) (ns|µs|μs|ms|s) ±", re.MULTILINE)
UNIT = {"ns": 1e-9, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0}

MODULE = os.environ.get("PERFNB_E2E_MODULE", "")
FOLDER = os.path.join(MODULE, "notebooks")
OFFLINE = {"GOPROXY": "off", "GOFLAGS": "-mod=mod"}


def variants(text):
    """The mean time of each %%timeit variant, in seconds."""
    return {m.group(1): float(m.group(2)) * UNIT[m.group(3)] for m in VARIANT.finditer(text)}


def error_of(k, code, timeout=BUILD_TIMEOUT):
    r = k.execute(code, timeout=timeout)
    expect(r.status == "error" and r.errors(), "the cell did not fail", r.describe())
    return r.error_text()


def expect_all(text, wants, r=None):
    for w in wants:
        expect(w in text, "%r is not in the output" % w, text if r is None else r.describe())


# --- offline, in the test module -------------------------------------------

def import_own_package(k):
    t0 = time.monotonic()
    r = k.ok('import "example.test/lab/sum"', timeout=BUILD_TIMEOUT)
    print("  first import of the notebook's own package: %.2f s" % (time.monotonic() - t0))
    expect_all(r.stdout(), ["go: using example.test/lab (the module in ", "as a plugin"], r)


def call_interpreted(k):
    r = k.ok("sum.Loop(100)")
    expect(r.result_text() == "4950", "sum.Loop(100) = %r" % r.result_text(), r.describe())


def timeit_own(k):
    r = k.ok("%timeit sum.Loop(1000)", timeout=BUILD_TIMEOUT)
    expect(TIMEIT.search(r.all_text()), "no %timeit line", r.describe())


def memit_own(k):
    r = k.ok("%memit sum.Grow(1 << 22)", timeout=BUILD_TIMEOUT)
    m = MEMIT.search(r.all_text())
    expect(m, "no %memit line", r.describe())
    expect(float(m.group(2)) > 16, "sum.Grow(1<<22) allocates 32 MiB, but the increment is %s MiB" % m.group(2), r.describe())


def scalene_own(k):
    r = k.ok("%scalene sum.Loop(200_000_000)", timeout=BUILD_TIMEOUT)
    expect(re.search(r"% of time = [\d.]+% out of", r.all_text()), "no Scalene title line", r.describe())


def edit_is_measured(k):
    """Work and Base are the same loop; after Work's body is made to do
    twenty passes, the next %%timeit measures Work twenty times slower
    than Base (ratios, not times, so a loaded machine does not matter)."""
    cell = "%%timeit -r 5\nbase: sum.Base(3000)\nwork: sum.Work(3000)"
    before = variants(k.ok(cell, timeout=BUILD_TIMEOUT).all_text())
    expect({"base", "work"} <= set(before), "no variant lines: %r" % before)
    path = os.path.join(MODULE, "sum", "work.go")
    with open(path) as f:
        src = f.read()
    with open(path, "w") as f:
        f.write(src.replace("passes = 1", "passes = 20"))
    after = variants(k.ok(cell, timeout=BUILD_TIMEOUT).all_text())
    r1, r2 = before["work"] / before["base"], after["work"] / after["base"]
    print("  work/base before the edit: %.2f, after: %.2f" % (r1, r2))
    expect(r2 > 4 * r1, "the edit is not measured: work/base %.2f before, %.2f after" % (r1, r2))
    # Interpreted cells that use the edited package run compiled, with the
    # new code, and say why.
    r = k.ok("sum.Passes()", timeout=BUILD_TIMEOUT)
    expect(r.result_text() == "20", "sum.Passes() after the edit: %r" % r.result_text(), r.describe())
    expect_all(r.stderr(), ["compiled: uses example.test/lab/sum, whose source changed"], r)


def failures_keep_the_kernel(k):
    k.ok("keep := 42")
    cases = [
        ('import "github.com/nobody-perfnb/nothing"', ["cannot import", "GOPROXY=off"]),
        ('import "example.test/lab/broken"', ["does not build", "broken.go:3"]),
        ('import "example.test/lab/nothere"', ["module example.test/lab has no such package"]),
        ("%go get github.com/cespare/xxhash/v2@v2.99.0", ["go get github.com/cespare/xxhash/v2@v2.99.0 failed"]),
        ("%go frobnicate", ["usage: %go get"]),
    ]
    for code, wants in cases:
        expect_all(error_of(k, code), wants)
    r = k.ok("keep")
    expect(r.result_text() == "42", "the kernel lost keep: %r" % r.result_text(), r.describe())
    r = k.ok("sum.Loop(10)")
    expect(r.result_text() == "45", "the package is gone: %r" % r.result_text(), r.describe())


def go_mod(k):
    r = k.ok("%go mod")
    expect_all(r.stdout(), ["folder's module: example.test/lab (", "modules in use"], r)


# --- no C compiler: source import, cgo refused ------------------------------

def source_fallback(k):
    r = k.ok('import "example.test/lab/sum"', timeout=BUILD_TIMEOUT)
    expect_all(r.stdout(), ["no plugin for example.test/lab/sum", "reads its source instead"], r)
    r = k.ok("sum.Loop(100)")
    expect(r.result_text() == "4950", "sum.Loop(100) = %r" % r.result_text(), r.describe())


def native_only(k):
    """Assembly without a plugin: the interpreter cannot load the package,
    the import says so and succeeds, cells that use it run compiled, and
    the magics measure it."""
    if platform.machine() not in ("x86_64", "AMD64"):
        print("  skipped: the test's assembly is for amd64")
        return
    r = k.ok('import "example.test/lab/asm"', timeout=BUILD_TIMEOUT)
    expect_all(r.stderr(), ["has assembly (add_amd64.s)", "cells that use it run compiled"], r)
    r = k.ok("asm.Add(1, 2)", timeout=BUILD_TIMEOUT)
    expect(r.result_text() == "3", "asm.Add(1, 2) = %r" % r.result_text(), r.describe())
    expect_all(r.stderr(), ["compiled: uses example.test/lab/asm, which the interpreter cannot load"], r)
    r = k.ok("%timeit asm.Add(1, 2)", timeout=BUILD_TIMEOUT)
    expect(TIMEIT.search(r.all_text()), "no %timeit line", r.describe())


def cgo_without_compiler(k):
    text = error_of(k, 'import "example.test/lab/withc"')
    expect_all(text, ["does not build", "uses cgo", "C compiler"])
    k.ok("x := 1")


# --- the Go module proxy ----------------------------------------------------

def third_party(k):
    t0 = time.monotonic()
    r = k.ok('import "github.com/cespare/xxhash/v2"', timeout=BUILD_TIMEOUT)
    print("  import of github.com/cespare/xxhash/v2 (this machine's caches): %.2f s" % (time.monotonic() - t0))
    expect(re.search(r"go: using github.com/cespare/xxhash/v2 v2\.\d+\.\d+", r.stdout()), "no version shown", r.describe())
    r = k.ok('xxhash.Sum64String("hello")')
    expect(r.result_text() == "2794345569481354659", "xxhash.Sum64String = %r" % r.result_text(), r.describe())
    r = k.ok('%timeit xxhash.Sum64String("hello")', timeout=BUILD_TIMEOUT)
    expect(TIMEIT.search(r.all_text()), "no %timeit line", r.describe())


def bad_version(k):
    text = error_of(k, "%go get github.com/cespare/xxhash/v2@v2.99.0")
    expect_all(text, ["go get github.com/cespare/xxhash/v2@v2.99.0 failed", "v2.99.0"])
    text = error_of(k, 'import "github.com/nobody-perfnb/nothing"')
    expect_all(text, ["could not obtain its module"])


# --- a proxy that never answers -----------------------------------------------

class Hang(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        time.sleep(600)

    def log_message(self, *args):
        pass


def interrupt_download(k):
    msg_id = k.kc.execute('import "example.com/never/answers"')
    state = {"resolving_at": None, "interrupted": False}

    def on_message(msg):
        if msg["msg_type"] == "stream" and "go: resolving example.com/never/answers" in msg["content"]["text"]:
            state["resolving_at"] = time.monotonic()
            if not state["interrupted"]:
                state["interrupted"] = True
                time.sleep(1)
                k.km.interrupt_kernel()

    t0 = time.monotonic()
    messages, _ = k.collect(msg_id, timeout=60, on_message=on_message)
    expect(state["resolving_at"], "no progress line before the interrupt", [m["msg_type"] for m in messages])
    errors = [m for m in messages if m["msg_type"] == "error"]
    expect(errors and errors[0]["content"]["ename"] == "Interrupted", "not interrupted: %r" % [m["content"] for m in errors])
    print("  interrupt to idle: %.2f s" % (time.monotonic() - state["resolving_at"] - 1))
    expect(time.monotonic() - t0 < 30, "the interrupt took %.0f s" % (time.monotonic() - t0))
    k.shell_reply(msg_id)
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "the kernel is not usable after the interrupt", r.describe())


def main():
    expect(MODULE, "PERFNB_E2E_MODULE is not set")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hang = "http://127.0.0.1:%d" % server.server_address[1]
    groups = [
        ([import_own_package, call_interpreted, timeit_own, memit_own, scalene_own, edit_is_measured,
          failures_keep_the_kernel, go_mod], OFFLINE),
        ([source_fallback, native_only, cgo_without_compiler], dict(OFFLINE, CC="/nonexistent/cc")),
        ([third_party, bad_version], {}),
        ([interrupt_download], {"GOPROXY": hang, "GOFLAGS": "-mod=mod", "GONOSUMDB": "example.com", "GONOSUMCHECK": "1", "GOSUMDB": "off"}),
    ]
    failed = 0
    for checks, env in groups:
        failed |= run_checks(checks, env=env or None, cwd=FOLDER)
    return failed


if __name__ == "__main__":
    sys.exit(main())
