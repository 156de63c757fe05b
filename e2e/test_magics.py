"""End-to-end checks of perfnb's magics (%timeit, %%timeit, %memit, %%scalene, %prun)
through jupyter_client.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_magics.py [check ...]
"""

import os
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
    evalue = reply["content"].get("evalue", "")
    expect(reply["content"].get("ename") == "Interrupted" and "child process was stopped" in evalue,
           "interrupted %%timeit: %s: %r, want Interrupted saying its child process was stopped"
           % (reply["content"].get("ename"), evalue))
    expect(took < 3, "interrupting %%timeit took %.1f s" % took)
    k.drain()
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "the kernel does not answer after interrupting %timeit")


@check
def timeit_result_options(k):
    r = k.ok("%timeit -o -n 100 -r 3 x := 3 * 7", timeout=MAGIC_TIMEOUT)
    res = r.result_text() or ""
    expect("TimeitResult" in res or TIMEIT.search(res), "-o: the cell's value is %r" % res, r.describe())
    r = k.ok("%timeit -q -v tres -n 100 -r 3 x := 3 * 7", timeout=MAGIC_TIMEOUT)
    expect(not TIMEIT.search(r.all_text()), "-q printed the timeit line", r.describe())
    r = k.ok("tres.Loops")
    expect(r.result_text() == "100", "-v: tres.Loops = %r, want 100" % r.result_text(), r.describe())
    r = k.ok("len(tres.Timings)")
    expect(r.result_text() == "3", "-v: len(tres.Timings) = %r, want 3" % r.result_text(), r.describe())
    r = k.ok("tres.Average > 0 && tres.Best <= tres.Worst")
    expect(r.result_text() == "true", "-v: Average/Best/Worst inconsistent", r.describe())


@check
def timeit_comparison(k):
    k.ok("\n".join([
        'words := strings.Fields("a quick brown fox jumps over the lazy dog again and again")',
        "func concatWords(ws []string) string {",
        "\ts := \"\"",
        "\tfor _, w := range ws {",
        "\t\ts += w",
        "\t}",
        "\treturn s",
        "}",
        "func buildWords(ws []string) string {",
        "\tvar b strings.Builder",
        "\tfor _, w := range ws {",
        "\t\tb.WriteString(w)",
        "\t}",
        "\treturn b.String()",
        "}",
    ]))
    r = k.ok("%%timeit -r 5\nconcat: s := concatWords(words)\nbuilder: s := buildWords(words)",
             timeout=MAGIC_TIMEOUT)
    text = r.all_text()
    for label in ("concat", "builder"):
        expect(label in text, "the comparison does not show %r" % label, r.describe())
    html = html_of(r)
    expect("<table" in html and "concat" in html and "builder" in html, "no comparison table in text/html", r.describe())


@check
def timeit_panic(k):
    r = k.execute('%timeit panic("inside timeit")', timeout=MAGIC_TIMEOUT)
    expect(r.status == "error" and len(r.errors()) == 1, "a panicking %timeit is not one error", r.describe())
    expect("inside timeit" in r.error_text(), "the panic value is not shown", r.error_text())
    expect(k.alive(), "a panicking %timeit killed the kernel")


@check
def timeit_floods_stdout(k):
    r = k.execute('%timeit -n 200000 -r 2 fmt.Println("flooding stdout with a long line of text")', timeout=MAGIC_TIMEOUT)
    size = sum(len(m["content"].get("text", "")) for m in r.of_type("stream"))
    status, err = r.status, r.error_text().split("\n")[0][:200]
    expect(size < 4 << 20, "a flooding %%timeit published %d bytes of output" % size)
    expect(k.alive(), "a flooding %timeit killed the kernel")
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "the kernel does not answer after a flooding %timeit")
    print("  flood: status %s, %d bytes of stream output %s" % (status, size, err))


@check
def memit_line(k):
    r = k.ok("%memit b := make([]byte, 64<<20); for i := range b { b[i] = 1 }", timeout=MAGIC_TIMEOUT)
    m = MEMIT.search(r.all_text())
    expect(m, "no memory_profiler %memit line", r.describe())
    inc = float(re.search(r"increment: (-?[\d.]+) MiB", m.group(0)).group(1))
    expect(56 <= inc <= 80, "increment %.2f MiB for 64 MiB touched" % inc)
    print("  " + m.group(0))


@check
def memit_setup_excluded(k):
    code = "\n".join([
        "%%memit big := make([]byte, 96<<20); for i := range big { big[i] = 1 }",
        "s := make([]byte, 16<<20)",
        "for i := range s {",
        "\ts[i] = 1",
        "}",
    ])
    r = k.ok(code, timeout=MAGIC_TIMEOUT)
    m = MEMIT.search(r.all_text())
    expect(m, "no %%memit line", r.describe())
    inc = float(re.search(r"increment: (-?[\d.]+) MiB", m.group(0)).group(1))
    expect(10 <= inc <= 30, "increment %.2f MiB for a 16 MiB body after a 96 MiB setup" % inc, m.group(0))
    print("  " + m.group(0))


@check
def memit_limit(k):
    r = k.execute("%memit -m 128MiB var xs [][]byte; for { b := make([]byte, 1<<20); for i := range b { b[i] = 1 }; xs = append(xs, b) }",
                  timeout=MAGIC_TIMEOUT)
    text = one_error_text(r, "runaway %memit")
    expect("memory limit exceeded" in text, "the error does not say the memory limit was exceeded", text)
    expect(k.alive(), "a runaway %memit killed the kernel")
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "the kernel does not answer after a runaway %memit")


def one_error_text(r, what):
    expect(r.status == "error", "%s: status %r, want error" % (what, r.status), r.describe())
    expect(len(r.outputs()) == 1 and r.outputs()[0]["msg_type"] == "error",
           "%s: want exactly one output, an error" % what, r.describe())
    return r.error_text()


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
    text = r.all_text()
    expect(re.search(r"% of time = [\d.]+% out of", text), "no Scalene title line in text/plain", r.describe())
    paths = re.findall(r"(/\S+\.pb\.gz)", text + html)
    expect(paths, "no .pb.gz profile path printed", r.describe())
    for path in set(paths):
        expect(os.path.exists(path), "the profile %s does not exist" % path)


@check
def scalene_why_and_variants(k):
    k.ok("\n".join([
        "func spinE2E(n int) int {",
        "\ts := 0",
        "\tfor i := 0; i < n; i++ {",
        "\t\ts += i * i % 7",
        "\t}",
        "\treturn s",
        "}",
        "var sinkE2E any",
    ]))
    # Self and total on lines that call functions, and the compiler's
    # decisions on the line they concern.
    r = k.ok("%%scalene --cpu-only --no-flamegraph --duration 300ms\nx := []int{1, 2, 3}\nsinkE2E = &x\nsinkE2E = spinE2E(3000000)",
             timeout=MAGIC_TIMEOUT)
    text = r.all_text()
    for want in ("Total", "Compiler", "moved to heap: x", "inlining call to spinE2E"):
        expect(want in text, "%%scalene lacks %r" % want, r.describe())
    # Labelled variants: two tables, a difference flame graph.
    r = k.ok("%%scalene --cpu-only --duration 300ms\nfast: sinkE2E = spinE2E(100000)\nslow: sinkE2E = spinE2E(300000)",
             timeout=MAGIC_TIMEOUT)
    text, html = r.all_text(), html_of(r)
    for want in ("── fast ──", "── slow ──", "Time per execution"):
        expect(want in text, "the comparison lacks %r" % want, r.describe())
    expect(html.count('class="perfnb-scalene-variant"') == 2, "not two tables side by side", r.describe())
    expect("slow against fast" in html, "no difference flame graph", r.describe())
    # os.Exit(0) in the body is the cell's error, not an empty profile.
    r = k.execute("%scalene --duration 50ms os.Exit(0)", timeout=MAGIC_TIMEOUT)
    expect(r.status == "error" and "os.Exit(0)" in r.error_text(),
           "%scalene os.Exit(0) is not a clear error", r.describe())
    r = k.execute("%scalene --asm --memory-only sinkE2E = 1", timeout=MAGIC_TIMEOUT)
    expect(r.status == "error" and "UsageError" in r.describe(), "--asm --memory-only is not a UsageError", r.describe())


@check
def prun(k):
    k.ok("func spinPrun(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i * i % 7\n\t}\n\treturn s\n}\nvar sinkPrun int")
    r = k.ok("%prun -l 5 --duration 300ms sinkPrun = spinPrun(1000000)", timeout=MAGIC_TIMEOUT)
    text = r.all_text()
    expect(re.search(r"flat\s+flat%\s+sum%\s+cum\s+cum%", text), "no pprof top header", r.describe())
    expect(re.search(r"spinPrun \(In\[\d+\]\)", text), "the cell's function is not under its cell name", r.describe())
    expect(".pb.gz" in text, "no saved profile path", r.describe())
    r = k.execute("%prun -l -3 sinkPrun = 1", timeout=MAGIC_TIMEOUT)
    expect(r.status == "error" and "UsageError" in r.describe(), "a negative -l is not a UsageError", r.describe())


if __name__ == "__main__":
    sys.exit(run_checks())
