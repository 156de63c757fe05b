"""End-to-end checks of perfnb's magics (%timeit, %%timeit, %memit, %%scalene)
through jupyter_client.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_magics.py [check ...]
"""

import re
import sys
import time

from perfnb_e2e import check, expect, run_checks

MAGIC_TIMEOUT = 240

# IPython's %timeit line.
TIMEIT = re.compile(
    r"^\d+(\.\d+)? (ns|µs|ms|s) ± .* per loop \(mean ± std\. dev\. of 7 runs, [\d,]+ loops? each\)$",
    re.MULTILINE,
)
# memory_profiler's %memit line.
MEMIT = re.compile(r"^peak memory: \d+(\.\d+)? MiB, increment: -?\d+(\.\d+)? MiB$", re.MULTILINE)


def html_of(r):
    return "\n".join(m["content"]["data"].get("text/html", "")
                     for m in r.messages if m["msg_type"] in ("display_data", "execute_result"))


@check
def timeit_line(k):
    t0 = time.monotonic()
    r = k.ok("%timeit x := 3*7", timeout=MAGIC_TIMEOUT)
    took = time.monotonic() - t0
    text = r.all_text()
    expect(TIMEIT.search(text), "no IPython %timeit line in the output", r.describe())
    print("  %%timeit x := 3*7 took %.2f s: %s" % (took, TIMEIT.search(text).group(0)))


@check
def timeit_uses_earlier_cells(k):
    k.ok("func square(n int) int { return n * n }\nbase := 12")
    r = k.ok("%timeit -n 1000 -r 7 square(base)", timeout=MAGIC_TIMEOUT)
    m = TIMEIT.search(r.all_text())
    expect(m, "no %timeit line", r.describe())
    expect("1,000 loops each" in m.group(0), "-n 1000 not honoured: %r" % m.group(0))


@check
def timeit_cell_with_setup(k):
    code = "\n".join([
        '%%timeit words := strings.Fields("the quick brown fox jumps over the lazy dog")',
        'joined := strings.Join(words, " ")',
        "_ = joined",
    ])
    r = k.ok(code, timeout=MAGIC_TIMEOUT)
    expect(TIMEIT.search(r.all_text()), "no %%timeit line", r.describe())
    expect("<table" in html_of(r), "no text/html table", r.describe())


@check
def timeit_compile_error(k):
    k.ok("kept := 5")
    r = k.execute("%timeit nosuchfunc()", timeout=MAGIC_TIMEOUT)
    expect(r.status == "error" and len(r.errors()) == 1, "a %timeit of an undefined name is not one error", r.describe())
    r = k.ok("kept")
    expect(r.result_text() == "5", "state lost after a failing %timeit")


@check
def timeit_interrupt(k):
    msg_id = k.kc.execute("%timeit for {}")
    time.sleep(3)
    t0 = time.monotonic()
    k.km.interrupt_kernel()
    reply = k.shell_reply(msg_id, timeout=30)
    took = time.monotonic() - t0
    expect(reply["content"]["status"] == "error", "interrupted %%timeit: status %r" % reply["content"]["status"])
    expect(took < 3, "interrupting %%timeit took %.1f s" % took)
    k.drain()
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "the kernel does not answer after interrupting %timeit")


@check
def memit_line(k):
    r = k.ok("%memit b := make([]byte, 64<<20); for i := range b { b[i] = 1 }", timeout=MAGIC_TIMEOUT)
    m = MEMIT.search(r.all_text())
    expect(m, "no memory_profiler %memit line", r.describe())
    inc = float(re.search(r"increment: (-?[\d.]+) MiB", m.group(0)).group(1))
    expect(56 <= inc <= 80, "increment %.2f MiB for 64 MiB touched" % inc)
    print("  " + m.group(0))


@check
def scalene_cell(k):
    code = "\n".join([
        "%%scalene",
        "total := 0",
        "for i := 0; i < 30_000_000; i++ {",
        "\ttotal += i % 7",
        "}",
        "s := make([]int, 0)",
        "for i := 0; i < 100_000; i++ {",
        "\ts = append(s, i)",
        "}",
        "_ = total",
    ])
    r = k.ok(code, timeout=MAGIC_TIMEOUT)
    html = html_of(r)
    expect(html, "no text/html output", r.describe())
    expect(re.search(r"(?i)flame", html), "the HTML holds no flame graph", r.describe())
    expect(re.search(r"% of time = [\d.]+% out of", r.all_text()), "no Scalene title line in text/plain", r.describe())


if __name__ == "__main__":
    sys.exit(run_checks())
