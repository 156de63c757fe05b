"""End-to-end checks of %memit / %%memit through jupyter_client, with the
helpers of e2e/perfnb_e2e.py. Run with a perfnb kernel installed:

    JUPYTER_PATH=... PERFNB_KERNEL=name /usr/bin/python3 magics/memit/testdata/jupyter_memit.py

(e2e's runChecks can run it too: it prints PASS/FAIL lines.)
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "e2e"))

from perfnb_e2e import check, expect, run_checks  # noqa: E402

T = 240
MEMIT = re.compile(r"^peak memory: (\d+\.\d\d) MiB, increment: (-?\d+\.\d\d) MiB$", re.MULTILINE)


def increment(r):
    m = MEMIT.search(r.all_text())
    expect(m, "no memory_profiler %memit line", r.describe())
    print("  " + m.group(0), flush=True)
    return float(m.group(2))


def html_of(r):
    return "\n".join(m["content"]["data"].get("text/html", "")
                     for m in r.messages if m["msg_type"] in ("display_data", "execute_result"))


@check
def memit_touch_64(k):
    r = k.ok("%memit b := make([]byte, 64<<20); for i := range b { b[i] = 1 }", timeout=T)
    inc = increment(r)
    expect(abs(inc - 64) / 64 < 0.05, "increment %.2f MiB for 64 MiB touched" % inc)
    html = html_of(r)
    expect("<table" in html and "Go heap peak" in html, "no table in text/html", html)


@check
def memit_setup_excluded(k):
    k.ok("var keep []byte")
    r = k.ok("%%memit keep = make([]byte, 100<<20); for i := range keep { keep[i] = 1 }\n"
             "b := make([]byte, 16<<20)\nfor i := range b {\n\tb[i] = 1\n}", timeout=T)
    inc = increment(r)
    expect(abs(inc - 16) / 16 < 0.05, "increment %.2f MiB, want 16 (setup's 100 MiB excluded)" % inc)


@check
def memit_output_value(k):
    r = k.ok("%memit -o -q s := make([]byte, 8<<20); for i := range s { s[i] = 1 }", timeout=T)
    text = r.result_text() or ""
    expect(MEMIT.search(text), "-o: the value is not the memit line", r.describe())


@check
def memit_limit(k):
    r = k.execute("%memit -m 128MiB var xs [][]byte; for { b := make([]byte, 1<<20); for i := range b { b[i] = 1 }; xs = append(xs, b) }", timeout=T)
    expect(r.status == "error", "the runaway body did not fail", r.describe())
    expect(r.errors() and r.errors()[0]["content"]["ename"] == "MemoryLimitExceeded", "wrong error", r.describe())
    expect("memory limit exceeded" in r.error_text(), "no 'memory limit exceeded'", r.describe())
    print("  " + r.error_text().splitlines()[0][:160], flush=True)
    # The kernel is unharmed and keeps its state.
    r = k.ok("len(keep)")
    expect(r.result_text() == "0", "kernel state after the limit: %r" % r.result_text(), r.describe())


@check
def memit_compile_error(k):
    r = k.execute("%memit undefinedName + 1", timeout=T)
    expect(r.status == "error" and "In[" in r.error_text(), "no compile error with cell lines", r.describe())


if __name__ == "__main__":
    raise SystemExit(run_checks())
