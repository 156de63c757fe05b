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
    """Defines a value and a function named after tag, before the crash,
    then changes the value in a later cell (a crash keeps the values that
    cells gave variables, not only their declarations)."""
    k.ok("%sBase := 30\nfunc %sInc(n int) int { return n + 2 }" % (tag, tag))
    k.ok("%sBase += 10" % tag)


def survived(k, pid, tag):
    """Checks the kernel process and the definitions made before."""
    expect(k.alive(), "the kernel died")
    expect(kernel_pid(k) == pid, "the kernel process changed: %d, then %d" % (pid, kernel_pid(k)))
    r = k.ok("%sInc(%sBase)" % (tag, tag))
    expect(r.result_text() == "42", "after the crash, %sInc(%sBase) = %r, want 42" % (tag, tag, r.result_text()))
    return r


def crash(k, tag, code, enames, causes, timeout=60, ended=True):
    """Runs a cell that ends the interpreter process (or, unless ended, is
    stopped before it does; ended=None accepts either) and checks its
    error."""
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
    if ended is None:  # either way
        ended = "restored" in text
    if ended:
        expect("In[" in text, "the error does not name the cell: %r" % text)
        expect("restored" in text, "the error does not say what was restored: %r" % text)
    else:
        expect("kept" in text, "the error does not say what was kept: %r" % text)
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
    # The declaration touches no memory, the copy touches 16 GiB: the
    # interpreter's own guard stops the cell when it can, the kernel kills
    # the interpreter process otherwise.
    crash(k, "arr", "var big [1 << 34]byte\nx := big\nlen(x)", ["MemoryLimitExceeded"], ["memory limit"], ended=None)


@check
def runaway_native_allocation(k):
    # One call into compiled code that fills 3 GiB: the interpreter's guard
    # cannot stop it while it runs; the kernel kills the process past the
    # limit, or, on a busy machine where the call returns first, the
    # guard fails the cell as it returns.
    crash(k, "rss", "b := bytes.Repeat([]byte{1}, 3<<30)\nlen(b)", ["MemoryLimitExceeded"], ["memory limit"],
          ended=None)


def late_output(k, msg_id, needle, timeout=10):
    """Collects the stream text published for msg_id after its idle status,
    until it holds needle."""
    deadline = time.monotonic() + timeout
    late = ""
    while time.monotonic() < deadline and needle not in late:
        try:
            m = k.kc.get_iopub_msg(timeout=0.2)
        except Exception:  # noqa: BLE001
            continue
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            late += m["content"]["text"]
    return late


@check
def after_func_panic_while_idle(k):
    """A callback that panics later is reported on its cell's output, like
    a goroutine's panic: nothing is lost, not even a variable's value."""
    for tag, start in [("tim", "time.AfterFunc(200*time.Millisecond, func() {"),
                       ("ctx", "ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)\n"
                               "_ = cancel\ncontext.AfterFunc(ctx, func() {")]:
        pid = kernel_pid(k)
        define(k, tag)
        k.ok("%sBase = 40\n%sWorker := os.Getpid()" % (tag, tag))
        msg_id = k.kc.execute(start + ' var m map[string]int; m["x"] = 1 })')
        k.collect(msg_id)
        reply = k.shell_reply(msg_id)
        expect(reply["content"]["status"] == "ok", "the cell failed at once: %r" % reply["content"])
        late = late_output(k, msg_id, "nil map")
        expect("nil map" in late, "%s: no report of the callback's panic on the cell's output: %r" % (tag, late))
        survived(k, pid, tag)
        r = k.ok("os.Getpid() == %sWorker" % tag)
        expect(r.result_text() == "true", "%s: the interpreter process was replaced" % tag)


@check
def fatal_error_while_idle(k):
    """A goroutine that ends the interpreter process while no cell runs: the
    death is reported on the cell that started it, and on the next cell."""
    pid = kernel_pid(k)
    define(k, "idl")
    msg_id = k.kc.execute("go func() {\n\ttime.Sleep(200 * time.Millisecond)\n\tm := map[int]int{}\n"
                          "\tfor i := 0; i < 4; i++ {\n\t\tgo func() { for j := 0; ; j++ { m[j%100] = j } }()\n\t}\n}()")
    k.collect(msg_id)
    k.shell_reply(msg_id)
    late = late_output(k, msg_id, "concurrent map")
    expect("concurrent map" in late, "no report of the death on the cell's output: %r" % late)
    r = survived(k, pid, "idl")
    expect("concurrent map" in r.stderr(), "the next cell does not report the death: %r" % r.stderr())


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
    """A cell blocked in compiled code is interrupted at once (the call is
    abandoned); one whose deferred call blocks there cannot stop: its
    process is replaced, and the definitions restored."""
    pid = kernel_pid(k)
    define(k, "blk")
    for code, replaced in [("var wg sync.WaitGroup\nwg.Add(1)\nwg.Wait()", False),
                           ("var wg2 sync.WaitGroup\nwg2.Add(1)\ndefer wg2.Wait()", True)]:
        msg_id = k.kc.execute(code)
        time.sleep(1)
        t0 = time.monotonic()
        k.km.interrupt_kernel()
        reply = k.shell_reply(msg_id, timeout=15)
        took = time.monotonic() - t0
        k.drain()
        c = reply["content"]
        expect(c.get("ename") == "Interrupted", "reply %r" % c)
        text = " ".join(c.get("traceback", []))
        expect(("replaced" in text) == replaced, "replaced=%s, but the error says %r" % (replaced, text))
        print("  blocked cell (replaced=%s) interrupted in %.2f s" % (replaced, took), flush=True)
        survived(k, pid, "blk")


def vm(pid, field):
    """A field of /proc/PID/status (VmRSS, VmHWM) in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(k):
    return int(k.ok("os.Getpid()").result_text())


@check
def crash_with_a_detached_child(k):
    """A process that %%time started, detached, holds none of the
    interpreter's pipes: the next crash is reported while it still runs."""
    pid = kernel_pid(k)
    define(k, "det")
    # The magic compiles its body, importing os/exec by its name.
    r = k.ok('%%time\ncmd := exec.Command("setsid", "sleep", "120")\ncmd.Start()\nfmt.Println("pid", cmd.Process.Pid)')
    child = int(r.stdout().split("pid ")[1].split()[0])
    try:
        t0 = time.monotonic()
        r = k.execute("func detDown(n int) int { return detDown(n+1) + 1 }\ndetDown(0)", timeout=60)
        took = time.monotonic() - t0
        expect(r.content.get("ename") == "FatalError", "the crash: %r" % r.content)
        os.kill(child, 0)  # still running: the report did not wait for it
        print("  the crash was reported after %.2f s, its detached grandchild still running" % took, flush=True)
        survived(k, pid, "det")
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass


@check
def closing_descriptor_3(k):
    """Descriptors 3 and 4 are not the interpreter's pipes once cells run."""
    pid = kernel_pid(k)
    define(k, "fd3")
    k.ok('os.NewFile(3, "requests?").Close()\nos.NewFile(4, "answers?").Close()')
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "after closing 3 and 4: %r" % r.result_text())
    survived(k, pid, "fd3")


@check
def crash_among_blocked_goroutines(k):
    """A crash report of 10,000 goroutines still names its cause."""
    pid = kernel_pid(k)
    define(k, "gor")
    k.ok("block := make(chan int)\nfor i := 0; i < 10000; i++ {\n\tgo func() { <-block }()\n}")
    t0 = time.monotonic()
    r = k.execute("m := map[int]int{}\nfor i := 0; i < 4; i++ {\n\tgo func() { for j := 0; ; j++ { m[j%100] = j } }()\n}\n"
                  "time.Sleep(10 * time.Second)", timeout=60)
    took = time.monotonic() - t0
    text = strip_ansi(r.content.get("evalue", ""))
    expect(r.content.get("ename") == "FatalError" and "concurrent map" in text, "the crash: %r" % r.content)
    print("  the crash among 10,000 goroutines was reported after %.2f s: %s" % (took, text), flush=True)
    survived(k, pid, "gor")


@check
def a_line_of_256_mib(k):
    """One printed line of 256 MiB costs the interpreter process, not the
    kernel process: the kernel publishes at most 64 MiB of it, in pieces,
    and says so."""
    pid = kernel_pid(k)
    define(k, "big")
    before = vm(pid, "VmHWM")
    r = k.execute('fmt.Println(strings.Repeat("x", 256<<20))', timeout=300)
    peak = vm(pid, "VmHWM")
    expect(r.status == "ok", "the cell: %r" % r.content)
    out = r.stdout()
    expect(len(out) == 64 << 20, "the client received %d bytes of stdout, want the cap, 64 MiB" % len(out))
    expect("not sent" in r.stderr(), "no notice of the output not sent: %r" % r.stderr()[:300])
    # What the kernel process held is a bounded multiple of the pieces and
    # queues, far from the line's 256 MiB.
    expect(peak < before + 192, "the kernel process's peak went from %.0f to %.0f MiB" % (before, peak))
    print("  kernel process peak %.0f MiB (%.0f before); the client received %d MiB"
          % (peak, before, len(out) >> 20), flush=True)
    survived(k, pid, "big")


@check
def restart_when_out_of_descriptors(k):
    """A crash while the kernel process cannot open a file: no interpreter
    starts, and the kernel keeps the definitions and values until one
    does."""
    import resource

    pid = kernel_pid(k)
    define(k, "nof")
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    open_fds = len(os.listdir("/proc/%d/fd" % pid))
    # Fewer than it has open: the worker's death frees its three pipes,
    # and a new one needs six descriptors.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_fds - 1, hard))
    try:
        r = k.execute("func nofDown(n int) int { return nofDown(n+1) + 1 }\nnofDown(0)", timeout=60)
        text = strip_ansi(" ".join(r.content.get("traceback", [])))
        expect(r.content.get("ename") == "FatalError", "the crash: %r" % r.content)
        expect("restores them in the next" in text, "the error does not say the state is kept: %r" % text)
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    r = survived(k, pid, "nof")
    expect("restarted in a fresh process" in r.stderr(), "the cell that restored does not say so: %r" % r.stderr())


if __name__ == "__main__":
    raise SystemExit(run_checks())
