"""End-to-end checks that nothing a cell does ends the kernel.

Each check makes Go's runtime end the interpreter process (a fatal error,
running out of memory, a fault, a panic in a callback) or tries to change
the whole process, through Debian's jupyter_client. After each: the
kernel process is the same, earlier definitions still work, and the
cell's error names the cause.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_crash.py [check ...]
"""

import os
import signal
import time

# A low limit, so that the memory checks do not use the machine's memory.
# The kernel inherits this environment.
os.environ["PERFNB_KERNEL_MEMORY_LIMIT"] = "1GiB"

from perfnb_e2e import check, expect, run_checks, strip_ansi  # noqa: E402


def kernel_pid(k):
    return k.km.provisioner.process.pid


def define(k, tag):
    """Defines a value and a function named after tag, before the crash."""
    k.ok("%sBase := 40\nfunc %sInc(n int) int { return n + 2 }" % (tag, tag))


def survived(k, pid, tag):
    """Checks the kernel process and the definitions made before."""
    expect(k.alive(), "the kernel died")
    expect(kernel_pid(k) == pid, "the kernel process changed: %d, then %d" % (pid, kernel_pid(k)))
    r = k.ok("%sInc(%sBase)" % (tag, tag))
    expect(r.result_text() == "42", "after the crash, %sInc(%sBase) = %r, want 42" % (tag, tag, r.result_text()))
    return r


def crash(k, tag, code, enames, causes, timeout=60, ended=True):
    """Runs a cell that ends the interpreter process (or, unless ended, is
    stopped before it does) and checks its error."""
    pid = kernel_pid(k)
    define(k, tag)
    t0 = time.monotonic()
    r = k.execute(code, timeout=timeout)
    took = time.monotonic() - t0
    expect(r.status == "error", "reply status %r, want error" % r.status, r.describe())
    c = r.reply["content"]
    expect(c.get("ename") in enames, "ename %r, want one of %r" % (c.get("ename"), enames), r.describe())
    text = strip_ansi(c.get("evalue", "") + "\n" + "\n".join(c.get("traceback", [])))
    expect(any(cause in text for cause in causes), "the error does not name the cause %r: %r" % (causes, text))
    if ended:
        expect("In[" in text, "the error does not name the cell: %r" % text)
        expect("restored" in text, "the error does not say what was restored: %r" % text)
    print("  %s: error after %.2f s" % (tag, took), flush=True)
    t1 = time.monotonic()
    survived(k, pid, tag)
    print("  %s: next cell answered %.3f s after the error" % (tag, time.monotonic() - t1), flush=True)


@check
def endless_recursion(k):
    crash(k, "rec", "func down(n int) int { return down(n+1) + 1 }\ndown(0)",
          ["FatalError"], ["stack overflow"])


@check
def concurrent_map_writes(k):
    crash(k, "cmw", "m := map[int]int{}\nfor i := 0; i < 4; i++ {\n"
          "\tgo func() { for j := 0; ; j++ { m[j%100] = j } }()\n}\ntime.Sleep(10 * time.Second)",
          ["FatalError"], ["concurrent map"])


@check
def huge_make(k):
    crash(k, "mk", "b := make([]byte, 1<<40)\nlen(b)", ["MemoryLimitExceeded"], ["out of memory", "memory limit"])


@check
def bad_unsafe_read(k):
    crash(k, "uns", 'import "unsafe"\np := (*int)(unsafe.Pointer(uintptr(0xdeadbeef000)))\n*p',
          ["FatalError"], ["fault", "segmentation violation"])


@check
def set_max_stack(k):
    crash(k, "stk", "debug.SetMaxStack(10000)\nfunc deep(n int) int { if n == 0 { return 0 }; return deep(n-1) + 1 }\ndeep(1000)",
          ["FatalError"], ["stack overflow"])


@check
def huge_array_copy(k):
    pid = kernel_pid(k)
    define(k, "arr")
    # The declaration touches no memory, but the interpreter's own guard
    # may stop it; the copy touches 16 GiB: the interpreter's guard stops it
    # first when it can, the kernel's kills the process otherwise.
    k.execute("var big [1 << 34]byte")
    crash(k, "arr2", "x := big\nlen(x)", ["MemoryLimitExceeded"], ["memory limit"], ended=False)
    survived(k, pid, "arr")


@check
def after_func_panic_while_idle(k):
    for tag, start in [("tim", "time.AfterFunc(200*time.Millisecond, func() {"),
                       ("ctx", "ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)\n"
                               "_ = cancel\ncontext.AfterFunc(ctx, func() {")]:
        pid = kernel_pid(k)
        define(k, tag)
        code = start + ' var m map[string]int; m["x"] = 1 })'
        msg_id = k.kc.execute(code)
        k.collect(msg_id)
        reply = k.shell_reply(msg_id)
        expect(reply["content"]["status"] == "ok", "the cell failed at once: %r" % reply["content"])
        # The callback panics while no cell runs: the kernel reports it on
        # the cell's output (the same parent), then on the next cell.
        deadline = time.monotonic() + 10
        late = ""
        while time.monotonic() < deadline and "nil map" not in late:
            try:
                m = k.kc.get_iopub_msg(timeout=0.2)
            except Exception:  # noqa: BLE001
                continue
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
                late += m["content"]["text"]
        expect("nil map" in late, "%s: no report of the callback's panic on the cell's output: %r" % (tag, late))
        r = survived(k, pid, tag)
        expect("nil map" in r.stderr(), "%s: the next cell does not report the death: %r" % (tag, r.stderr()))


@check
def process_settings_stay_in_the_interpreter(k):
    pid = kernel_pid(k)
    r = k.ok("runtime.GOMAXPROCS(1)\ndebug.SetGCPercent(-1)\nos.Getpid()")
    expect(r.result_text() != str(pid), "the cell ran in the kernel process %d" % pid)
    define(k, "gmp")
    survived(k, pid, "gmp")


@check
def signal_reset_then_interrupt(k):
    pid = kernel_pid(k)
    define(k, "sig")
    k.ok("signal.Reset()")
    for how in (k.km.interrupt_kernel, lambda: k.km.signal_kernel(signal.SIGINT)):
        msg_id = k.kc.execute("for {\n}")
        time.sleep(1)
        how()
        reply = k.shell_reply(msg_id, timeout=15)
        k.drain()
        text = reply["content"].get("ename", "") + reply["content"].get("evalue", "")
        expect("nterrupt" in text, "the cell was not interrupted: %r" % reply["content"])
        survived(k, pid, "sig")


@check
def interrupt_a_blocked_native_call(k):
    """A cell blocked in compiled code cannot stop when interrupted: its
    process is replaced, and the definitions restored."""
    pid = kernel_pid(k)
    define(k, "blk")
    msg_id = k.kc.execute("var wg sync.WaitGroup\nwg.Add(1)\nwg.Wait()")
    time.sleep(1)
    t0 = time.monotonic()
    k.km.interrupt_kernel()
    reply = k.shell_reply(msg_id, timeout=15)
    took = time.monotonic() - t0
    k.drain()
    expect(reply["content"].get("ename") == "Interrupted", "reply %r" % reply["content"])
    print("  blocked cell interrupted in %.2f s" % took, flush=True)
    survived(k, pid, "blk")


if __name__ == "__main__":
    raise SystemExit(run_checks())
