"""End-to-end checks of the perfnb kernel through Debian's jupyter_client.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_client.py [check ...]
Prints PASS/FAIL per check; exits 1 if any failed.
"""

import os
import platform
import shutil
import tempfile
import re
import signal
import subprocess
import sys
import time
import uuid

from perfnb_e2e import Kernel, check, expect, run_checks, strip_ansi


def go_version():
    try:
        out = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
        return out.strip()
    except Exception:  # noqa: BLE001
        return ""


@check
def kernel_info(k):
    c = k.request("kernel_info")
    expect(c["status"] == "ok", "status %r" % c["status"])
    expect(c["protocol_version"].startswith("5."), "protocol_version %r" % c["protocol_version"])
    li = c["language_info"]
    want = {"name": "go", "mimetype": "text/x-go", "file_extension": ".go", "pygments_lexer": "go"}
    for key, value in want.items():
        expect(li.get(key) == value, "language_info[%r] = %r, want %r" % (key, li.get(key), value))
    cm = li.get("codemirror_mode")
    expect(cm == "go" or (isinstance(cm, dict) and cm.get("name") == "go"), "codemirror_mode %r" % cm)
    expect(re.search(r"\d+\.\d+", li.get("version", "")), "language version %r is not a Go version" % li.get("version"))
    gov = go_version()
    if gov:
        expect(gov.removeprefix("go").split(".")[:2] == li["version"].removeprefix("go").split(".")[:2],
               "language version %r, but go env GOVERSION is %r" % (li["version"], gov))
    expect(c.get("implementation") == "perfnb", "implementation %r" % c.get("implementation"))
    expect(c.get("implementation_version"), "no implementation_version")
    expect(c.get("banner"), "no banner")
    expect(isinstance(c.get("help_links", []), list), "help_links %r" % c.get("help_links"))


def control_reply(k, msg_id, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = k.kc.get_control_msg(timeout=0.2)
        except Exception:  # noqa: BLE001
            continue
        if m["parent_header"].get("msg_id") == msg_id:
            return m["content"]
    expect(False, "no reply on the control channel to %s" % msg_id)


@check
def kernel_info_on_control(k):
    msg = k.kc.session.msg("kernel_info_request", {})
    k.kc.control_channel.send(msg)
    c = control_reply(k, msg["header"]["msg_id"])
    expect(c.get("language_info", {}).get("name") == "go", "kernel_info_reply on control: %r" % c)


@check
def hello_world_stream(k):
    r = k.ok('fmt.Println("hello, world")')
    streams = r.of_type("stream")
    expect(streams and streams[0]["content"]["name"] == "stdout", "no stdout stream", r.describe())
    expect(r.stdout() == "hello, world\n", "stdout %r" % r.stdout())
    expect(not r.of_type("execute_result"), "unexpected execute_result for a statement", r.describe())
    inputs = r.of_type("execute_input")
    expect(len(inputs) == 1 and inputs[0]["content"]["code"] == r.code, "execute_input missing or wrong", r.describe())
    states = [m["content"]["execution_state"] for m in r.of_type("status")]
    expect(states[0] == "busy" and states[-1] == "idle", "status sequence %r" % states)
    expect(r.content["execution_count"] == inputs[0]["content"]["execution_count"], "execution counts differ")


@check
def stderr_stream(k):
    r = k.ok('fmt.Fprintln(os.Stderr, "to stderr")')
    expect(r.stderr() == "to stderr\n", "stderr %r" % r.stderr(), r.describe())


@check
def execute_result(k):
    for code, want in [("1 + 2 + 3", "6"), ("[]int{1, 4, 9}", "[1 4 9]"), ('"go" + "pher"', None)]:
        r = k.ok(code)
        got = r.result_text()
        if want is None:
            expect(got is not None and "gopher" in got, "result of %r is %r" % (code, got), r.describe())
        else:
            expect(got == want, "result of %r is %r, want %r" % (code, got, want), r.describe())
        res = r.of_type("execute_result")[0]["content"]
        expect(res["execution_count"] == r.content["execution_count"], "execute_result count differs from reply")


@check
def execution_count(k):
    a = k.ok("_ = 1").content["execution_count"]
    b = k.ok("_ = 2").content["execution_count"]
    expect(b == a + 1, "execution counts %d then %d" % (a, b))
    s = k.execute("7 * 6", silent=True)
    expect(s.status == "ok", "silent cell failed", s.describe())
    expect(not s.of_type("execute_result") and not s.of_type("execute_input"),
           "a silent cell published execute_input/execute_result", s.describe())
    c = k.ok("_ = 3").content["execution_count"]
    expect(c == b + 1, "a silent cell changed the execution count: %d, %d" % (b, c))
    n = k.execute("_ = 4", store_history=False)
    d = k.ok("_ = 5").content["execution_count"]
    expect(d == c + 1, "store_history=False changed the execution count: %d, %d (%s)" % (c, d, n.status))


@check
def mixed_cell(k):
    code = "\n".join([
        'import "strings"',
        "",
        "type point struct{ x, y int }",
        "",
        "func (p point) sum() int { return p.x + p.y }",
        "",
        "p := point{2, 3}",
        'fmt.Println(strings.Repeat("ab", 2))',
        "",
        "func twice(n int) int { return 2 * n }",
        "twice(p.sum())",
    ])
    r = k.ok(code)
    expect(r.stdout() == "abab\n", "stdout %r" % r.stdout(), r.describe())
    expect(r.result_text() == "10", "result %r, want 10" % r.result_text(), r.describe())


@check
def state_across_cells(k):
    k.ok("counter := 41")
    k.ok("func bump() { counter++ }")
    r = k.ok("bump()\ncounter")
    expect(r.result_text() == "42", "counter is %r, want 42" % r.result_text(), r.describe())


@check
def redefinition(k):
    k.ok('func greet() string { return "v1" }')
    k.ok('func greet() string { return "v2" }')
    r = k.ok("greet()")
    expect(r.result_text() == '"v2"' or r.result_text() == "v2", "greet() = %r after redefinition" % r.result_text(), r.describe())
    k.ok("type box struct{ a int }")
    k.ok("type box struct{ a, b int }")
    r = k.ok("box{1, 2}")
    expect(r.result_text() == "{1 2}", "box{1, 2} = %r after redefining box" % r.result_text(), r.describe())
    k.ok("v := 1")
    k.ok('v := "now a string"')
    r = k.ok("v + \"!\"")
    expect("now a string!" in (r.result_text() or ""), "v = %r after redefinition" % r.result_text(), r.describe())


@check
def redefinition_keeps_values_and_output(k):
    """Redefining a type or method keeps variables' current values and shows
    no output of earlier cells again."""
    k.ok("type shape struct{ w int }\nfunc (s shape) area() int { return s.w }")
    k.ok('announced := func() int { fmt.Println("initialiser ran"); return 1 }()')
    k.ok('shown := display.HTML("<i>shown once</i>")')
    k.ok("announced = 100")
    r = k.ok("func (s shape) area() int { return s.w * s.w }\nshape{3}.area()")
    expect(r.result_text() == "9", "the redefined method gives %r, want 9" % r.result_text(), r.describe())
    expect([m["msg_type"] for m in r.outputs()] == ["execute_result"],
           "redefining a method showed output of earlier cells again", r.describe())
    r = k.ok("type shape struct{ w, h int }")
    expect(not r.outputs(), "redefining a type showed output of earlier cells again", r.describe())
    r = k.ok("announced")
    expect(r.result_text() == "100", "a variable lost its value when a type was redefined: %r" % r.result_text())


@check
def streaming(k):
    code = 'fmt.Println("first")\ntime.Sleep(1500 * time.Millisecond)\nfmt.Println("second")'
    r = k.ok(code)
    streams = r.of_type("stream")
    expect(r.stdout() == "first\nsecond\n", "stdout %r" % r.stdout())
    first = next(m for m in streams if "first" in m["content"]["text"])
    idle = r.messages[-1]
    expect(idle["_received"] - first["_received"] > 1.0,
           "stdout arrived only at the end of the cell (%.2f s before idle)" % (idle["_received"] - first["_received"]))


def one_error(r, what):
    expect(r.status == "error", "%s: reply status %r, want error" % (what, r.status), r.describe())
    outs = r.outputs()
    expect(len(outs) == 1 and outs[0]["msg_type"] == "error",
           "%s: want exactly one output, an error; got %s" % (what, [m["msg_type"] for m in outs]), r.describe())
    c = r.content
    expect(c.get("ename") and "traceback" in c, "%s: execute_reply lacks ename/traceback: %r" % (what, c))
    return r.error_text()


@check
def compile_error(k):
    r = k.execute("a := 1\nb := undefinedName + a\nfmt.Println(b)")
    text = one_error(r, "compile error")
    n = r.content["execution_count"]
    expect(re.search(r"In\[%d\]:2\b" % n, text), "the error does not point at In[%d]:2" % n, text)
    expect("undefinedName" in text, "the error does not name undefinedName", text)
    r = k.execute("x := )")
    one_error(r, "syntax error")


@check
def failed_cell_leaves_no_trace(k):
    r = k.execute("y := laterDefined + 1")
    one_error(r, "undefined name")
    r = k.execute("fmt.Println(laterDefined)")
    text = one_error(r, "undefined name again")
    expect("laterDefined" in text and "panic" not in text.lower(),
           "the second use of an undefined name does not say it is undefined", text)
    k.ok("laterDefined := 41")
    r = k.ok("y := laterDefined + 1\ny")
    expect(r.result_text() == "42", "defining a name after a failed use of it: %r" % r.result_text(), r.describe())


@check
def panic_error(k):
    k.ok("keep := 7")
    r = k.execute('fmt.Println("before")\npanic("boom")')
    expect(r.status == "error", "status %r" % r.status, r.describe())
    errs = r.errors()
    expect(len(errs) == 1, "want one error output, got %d" % len(errs), r.describe())
    text = r.error_text()
    expect("boom" in text, "the panic value is not shown", text)
    r = k.execute("var m map[string]int\nm[\"a\"] = 1")
    text = one_error(r, "nil map write")
    r = k.execute("s := []int{1}\n_ = s[5]")
    one_error(r, "index out of range")
    r = k.ok("keep")
    expect(r.result_text() == "7", "state lost after a panic: %r" % r.result_text())


@check
def goroutine_panic(k):
    r = k.execute('go func() { panic("in a goroutine") }()\ntime.Sleep(300 * time.Millisecond)')
    time.sleep(0.5)
    expect(k.alive(), "a panic in a goroutine killed the kernel", r.describe())
    r = k.ok("1 + 1")
    expect(r.result_text() == "2", "kernel does not answer after a goroutine panic")


@check
def os_exit(k):
    k.ok("survivor := 99")
    r = k.execute("os.Exit(3)")
    expect(r.status == "error", "os.Exit(3): reply status %r, want error" % r.status, r.describe())
    expect(len(r.errors()) == 1, "os.Exit(3): want one error output", r.describe())
    expect(k.alive(), "os.Exit(3) ended the kernel")
    r = k.ok("survivor")
    expect(r.result_text() == "99", "state lost after os.Exit: %r" % r.result_text())


def interrupt_with(k, how):
    k.ok('before := "still here"')
    # A goroutine of an earlier cell: an interrupt stops the running cell, not it.
    k.ok("var ticks int64\ngo func() {\n\tfor {\n\t\tatomic.AddInt64(&ticks, 1)\n\t\ttime.Sleep(time.Millisecond)\n\t}\n}()")
    msg_id = k.kc.execute("for {\n}")
    # Wait until the cell runs.
    deadline = time.monotonic() + 10
    busy = False
    while not busy and time.monotonic() < deadline:
        try:
            m = k.kc.get_iopub_msg(timeout=0.2)
        except Exception:  # noqa: BLE001
            continue
        busy = m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input"
    expect(busy, "the cell did not start")
    time.sleep(0.5)
    t0 = time.monotonic()
    how()
    reply = k.shell_reply(msg_id, timeout=15)
    took = time.monotonic() - t0
    expect(reply["content"]["status"] == "error",
           "interrupted cell: reply status %r, want error" % reply["content"]["status"])
    text = strip_ansi(" ".join([reply["content"].get("ename", ""), reply["content"].get("evalue", "")] +
                               reply["content"].get("traceback", [])))
    expect("interrupt" in text.lower(), "the error does not say the cell was interrupted: %r" % text)
    expect(took < 3, "the interrupt took %.2f s (want well under 3 s)" % took)
    k.drain()
    expect(k.alive(), "the interrupt killed the kernel")
    r = k.ok("before")
    expect("still here" in (r.result_text() or ""), "state lost after the interrupt: %r" % r.result_text())
    r = k.ok("a := atomic.LoadInt64(&ticks)\ntime.Sleep(100 * time.Millisecond)\natomic.LoadInt64(&ticks) > a")
    expect(r.result_text() == "true", "the earlier cell's goroutine stopped with the interrupted cell: %r" % r.result_text())
    return took


@check
def interrupt_message(k):
    took = interrupt_with(k, k.km.interrupt_kernel)
    print("  interrupt_request answered in %.3f s" % took)


@check
def interrupt_sigint(k):
    took = interrupt_with(k, lambda: k.km.signal_kernel(signal.SIGINT))
    print("  SIGINT answered in %.3f s" % took)


@check
def stop_on_error(k):
    # The first cell runs long enough for the second to be queued behind it.
    failing = k.kc.execute('time.Sleep(500 * time.Millisecond)\npanic("first fails")', stop_on_error=True)
    queued = k.kc.execute('fmt.Println("must not run")')
    r1 = k.shell_reply(failing)
    r2 = k.shell_reply(queued)
    expect(r1["content"]["status"] == "error", "first cell status %r" % r1["content"]["status"])
    expect(r2["content"]["status"] == "aborted", "queued cell status %r, want aborted" % r2["content"]["status"])
    k.drain()
    r = k.ok("3 * 3")
    expect(r.result_text() == "9", "the kernel does not run cells after an abort")


@check
def user_expressions(k):
    r = k.ok("ux := 5", user_expressions={"double": "ux * 2", "bad": "nosuchname"})
    ue = r.content.get("user_expressions", {})
    expect(ue.get("double", {}).get("status") == "ok", "user_expressions: %r" % ue)
    expect(ue["double"]["data"].get("text/plain") == "10", "ux * 2 = %r" % ue["double"]["data"])
    expect(ue.get("bad", {}).get("status") == "error", "a bad user expression is not an error: %r" % ue.get("bad"))


@check
def stdin_allowed(k):
    prompts = []

    def answer(content):
        prompts.append(content)
        return "gopher"

    r = k.execute('var name string\nfmt.Print("name? ")\nfmt.Scanln(&name)\nfmt.Println("hi", name)', stdin=answer)
    expect(r.status == "ok", "stdin cell failed", r.describe())
    expect(len(prompts) == 1, "want one input_request, got %d" % len(prompts))
    expect("hi gopher" in r.stdout(), "stdout %r does not hold the answer" % r.stdout(), r.describe())
    r = k.execute('rd := bufio.NewReader(os.Stdin)\nline, _ := rd.ReadString(\'\\n\')\nfmt.Printf("%q\\n", line)',
                  stdin=lambda c: "a line")
    expect(r.status == "ok" and '"a line\\n"' in r.stdout(), "bufio read of stdin gave %r" % r.stdout(), r.describe())


@check
def stdin_not_allowed(k):
    """With allow_stdin false, reading stdin fails clearly: either the cell
    fails, or the read returns an error that says why."""
    r = k.execute('var name string\n_, err := fmt.Scanln(&name)\nfmt.Println("err:", err)', allow_stdin=False)
    expect(not r.stdin_requests, "an input_request was sent although allow_stdin is false")
    if r.status == "error":
        text = one_error(r, "stdin with allow_stdin=False")
    else:
        text = r.stdout()
        expect(text.startswith("err: ") and text.strip() != "err: <nil>", "fmt.Scanln did not fail: %r" % text, r.describe())
    expect(re.search(r"(?i)input|stdin", text), "the error does not explain that stdin is not allowed", text)


def completion(k, code, cursor=None):
    cursor = len(code) if cursor is None else cursor
    c = k.request("complete", code, cursor)
    expect(c["status"] == "ok", "complete status %r" % c["status"])
    s, e = c["cursor_start"], c["cursor_end"]
    return c, {code[:s] + m + code[e:] for m in c["matches"]}


@check
def complete(k):
    c, texts = completion(k, "fmt.Sprin")
    expect(texts == {"fmt.Sprint", "fmt.Sprintf", "fmt.Sprintln"},
           "fmt.Sprin completes to %r (matches %r, cursor_start %r)" % (sorted(texts), c["matches"], c["cursor_start"]))
    expect(c["cursor_end"] == len("fmt.Sprin"), "cursor_end %r" % c["cursor_end"])
    code = 'x := 1\ns := bytes.ToUp([]byte("a"))\n'
    cur = code.index("ToUp") + 4
    c, texts = completion(k, code, cur)
    expect(any("bytes.ToUpper(" in t for t in texts), "bytes.ToUp in the middle of a cell: %r" % c)
    k.ok("func myVeryOwnHelper() int { return 1 }\nmyVeryOwnValue := 2")
    c, texts = completion(k, "myVeryOwn")
    expect(texts == {"myVeryOwnHelper", "myVeryOwnValue"}, "names from earlier cells: %r" % c["matches"])
    c, texts = completion(k, "stri")
    expect("strings" in texts or "strings." in texts, "package names: %r" % c["matches"])
    c, texts = completion(k, "fallth")
    expect("fallthrough" in texts, "keywords: %r" % c["matches"])
    k.ok('import "strings"')
    c, texts = completion(k, "strings.ToUp")
    expect("strings.ToUpper" in texts, 'strings.ToUp after a cell `import "strings"`: %r' % c)
    # Cursor positions count code points, not bytes.
    code = 's := "héllo"; fmt.Sprin'
    c, texts = completion(k, code)
    expect(c["cursor_start"] in (code.index("fmt."), code.index("Sprin")),
           "cursor_start %r after a non-ASCII character (want code points)" % c["cursor_start"])


@check
def one_program(k):
    # Invalid Go is rejected with the compiler's words, and defines nothing.
    for code, want in [
        ('f := os.Open("/nonexistent")', "assignment mismatch: 1 variable but os.Open returns 2 values"),
        ('n := strconv.Atoi("12")', "assignment mismatch: 1 variable but strconv.Atoi returns 2 values"),
        ("func f(n int) int64 { return n }", "cannot use n (variable of type int) as int64 value in return statement"),
    ]:
        r = k.execute(code)
        text = one_error(r, code)
        n = r.content["execution_count"]
        expect(want in text and ("In[%d]:1:" % n) in text, "%r: want %r at In[%d]:1" % (code, want, n), text)
    r = k.execute("f(3)")
    expect("undefined: f" in one_error(r, "f after its failed declaration"), "a failed func is defined", r.describe())
    # Valid Go that yaegi mishandles runs.
    k.ok("a := 5")
    r = k.ok("var b = a\nb")
    expect(r.result_text() == "5", "var b = a after a := 5: %r" % r.result_text(), r.describe())
    k.ok("type bitset []uint64\nfunc (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }")
    r = k.ok("bitset{5}.has(2)")
    expect(r.result_text() == "true", "bitset: %r" % r.result_text(), r.describe())
    r = k.ok("func isEven(n int) bool { if n == 0 { return true }; return isOdd(n - 1) }\n"
             "func isOdd(n int) bool { if n == 0 { return false }; return isEven(n - 1) }\nisEven(10)")
    expect(r.result_text() == "true", "mutual recursion: %r" % r.result_text(), r.describe())
    # A panic keeps what ran before it.
    r = k.execute('x8 := 5; panic("p")')
    one_error(r, "panic")
    r = k.ok("x8")
    expect(r.result_text() == "5", "x8 after the panic: %r" % r.result_text(), r.describe())
    # What yaegi lacks runs all the same (Go 1.21's min, rewritten).
    r = k.ok("min(3, 1, 2) + min(a, 9)")
    expect(r.result_text() == "6", "min: %r" % r.result_text(), r.describe())
    # Members of an inferred type complete.
    k.ok("type S struct{ Name string; N int }\nfunc (S) Hello() {}\nsample := []S{{\"a\", 1}}\nfirst := sample[0]")
    c, texts = completion(k, "first.")
    expect(texts >= {"first.Name", "first.N", "first.Hello"} or {"Name", "N", "Hello"} <= set(c["matches"]),
           "first. completes to %r" % c["matches"])


@check
def inspect(k):
    c = k.request("inspect", "strings.Split", len("strings.Split"), 0)
    expect(c["status"] == "ok" and c["found"], "strings.Split not found: %r" % c)
    text = strip_ansi(c["data"].get("text/plain", ""))
    expect("func Split(s, sep string) []string" in text, "no signature in %r" % text[:300])
    expect("substrings" in text, "no doc comment in %r" % text[:300])
    code = "x := strings.Split(a, b)"
    c = k.request("inspect", code, code.index("Split") + 2, 0)
    expect(c["found"], "cursor inside strings.Split: not found")
    k.ok("// answer returns the answer.\nfunc answer() int { return 42 }")
    c = k.request("inspect", "answer", 3, 0)
    text = strip_ansi(c["data"].get("text/plain", "")) if c["found"] else ""
    expect("func answer() int" in text, "a cell's func: %r" % c)
    expect("returns the answer" in text, "a cell's func doc comment missing: %r" % text)
    c = k.request("inspect", "nosuchthing", 5, 0)
    expect(c["status"] == "ok" and not c["found"], "nosuchthing found: %r" % c)


@check
def pager(k):
    r = k.ok("strings.Split?")
    payload = r.content.get("payload", [])
    expect(len(payload) == 1 and payload[0].get("source") == "page", "no page payload: %r" % payload)
    expect("Split" in payload[0]["data"].get("text/plain", ""), "page text: %r" % payload[0]["data"])


@check
def is_complete(k):
    for code, want in [
        ("func f() {", "incomplete"),
        ("x := []int{\n1,", "incomplete"),
        ('s := "abc', "invalid"),
        ("x := 1", "complete"),
        ("func f() {\n}", "complete"),
        ("x := )", "invalid"),
    ]:
        c = k.request("is_complete", code)
        expect(c["status"] == want, "is_complete(%r) = %r, want %r" % (code, c["status"], want))
        if want == "incomplete":
            expect("indent" in c, "incomplete without indent: %r" % c)


@check
def history(k):
    a = 'fmt.Println("history one")'
    b = "40 + 2"
    k.ok(a)
    k.ok(b)
    c = k.request("history", hist_access_type="tail", n=2, output=False, raw=True)
    h = c["history"]
    expect([e[2] for e in h] == [a, b], "history tail: %r" % h)
    session, line = h[0][0], h[0][1]
    c = k.request("history", hist_access_type="range", session=session, start=line, stop=line + 2,
                  output=True, raw=True)
    h = c["history"]
    expect(len(h) == 2 and h[0][1] == line, "history range: %r" % h)
    expect(isinstance(h[1][2], list) and h[1][2][0] == b and "42" in (h[1][2][1] or ""),
           "history with output: %r" % h)
    c = k.request("history", hist_access_type="search", pattern="fmt.Println(\"history*", unique=True,
                  output=False, raw=True)
    expect([e[2] for e in c["history"]] == [a], "history search: %r" % c["history"])


@check
def comms(k):
    c = k.request("comm_info")
    expect(c["status"] == "ok" and isinstance(c.get("comms"), dict), "comm_info: %r" % c)
    comm_id = uuid.uuid4().hex
    msg = k.kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "no.such.target", "data": {}})
    k.kc.shell_channel.send(msg)
    deadline = time.monotonic() + 10
    closed = False
    while not closed and time.monotonic() < deadline:
        try:
            m = k.kc.get_iopub_msg(timeout=0.2)
        except Exception:  # noqa: BLE001
            continue
        closed = m["msg_type"] == "comm_close" and m["content"].get("comm_id") == comm_id
    expect(closed, "no comm_close for a comm_open to an unknown target")


@check
def display(k):
    r = k.ok('display.HTML("<b>bold</b>")')
    dd = r.of_type("display_data")
    expect(len(dd) == 1 and "<b>bold</b>" in dd[0]["content"]["data"].get("text/html", ""),
           "display.HTML: %s" % r.describe())
    r = k.ok('display.Markdown("*md*")\ndisplay.JSON(map[string]int{"a": 1})')
    types = [set(m["content"]["data"]) for m in r.of_type("display_data")]
    expect(len(types) == 2 and "text/markdown" in types[0] and "application/json" in types[1],
           "display.Markdown/JSON: %s" % r.describe())
    r = k.ok("display.ClearOutput()")
    expect(r.of_type("clear_output"), "display.ClearOutput published no clear_output", r.describe())


@check
def malformed_message(k):
    """A message with a bad signature is dropped; the kernel keeps serving."""
    sock = k.kc.shell_channel.socket
    msg = k.kc.session.msg("execute_request", {"code": 'fmt.Println("forged")', "silent": False,
                                               "store_history": True, "user_expressions": {},
                                               "allow_stdin": False, "stop_on_error": True})
    frames = k.kc.session.serialize(msg)
    sig_index = frames.index(b"<IDS|MSG>") + 1
    frames[sig_index] = b"0" * len(frames[sig_index])
    sock.send_multipart(frames)
    sock.send_multipart([b"<IDS|MSG>", b"", b"{not json", b"{}", b"{}", b"{}"])
    time.sleep(0.5)
    forged = False
    while True:
        try:
            m = k.kc.get_iopub_msg(timeout=0.2)
        except Exception:  # noqa: BLE001
            break
        if m["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            forged = True
    expect(not forged, "the kernel executed a message with a bad signature")
    r = k.ok("2 * 21")
    expect(r.result_text() == "42", "the kernel does not answer after bad messages")


@check
def restart(k):
    k.ok("beforeRestart := 1")
    k.km.restart_kernel(now=False)
    k.kc.wait_for_ready(timeout=30)
    k.drain()
    r = k.execute("beforeRestart")
    expect(r.status == "error", "state survived a restart", r.describe())
    r = k.ok("1 + 2 + 3")
    expect(r.result_text() == "6", "a restarted kernel does not work")
    expect(r.content["execution_count"] == 1 or r.content["execution_count"] == 2,
           "execution count after restart is %r" % r.content["execution_count"])


@check
def heartbeat_while_busy(k):
    import zmq

    info = k.km.get_connection_info()
    ctx = zmq.Context()
    try:
        msg_id = k.kc.execute("start := time.Now()\nn := 0\nfor time.Since(start) < 3*time.Second {\n\tn++\n}")
        time.sleep(0.5)
        worst = 0
        for i in range(4):
            sock = ctx.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect("%s://%s:%d" % (info["transport"], info["ip"], info["hb_port"]))
            t0 = time.monotonic()
            sock.send(b"ping %d" % i)
            ready = sock.poll(2000)
            took = time.monotonic() - t0
            expect(ready, "no heartbeat echo within 2 s while a cell runs")
            expect(sock.recv() == b"ping %d" % i, "the heartbeat did not echo the ping")
            worst = max(worst, took)
            sock.close()
            time.sleep(0.3)
        reply = k.shell_reply(msg_id, timeout=30)
        expect(reply["content"]["status"] == "ok", "the busy cell failed: %r" % reply["content"])
        print("  slowest heartbeat echo while busy: %.1f ms" % (worst * 1e3))
    finally:
        ctx.destroy(linger=0)


ORPHAN_SCRIPT = """
import os, sys
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name=sys.argv[1])
km.start_kernel(stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
print(km.provisioner.process.pid, flush=True)
os._exit(9)
"""


@check
def parent_death(k):
    """A kernel whose client dies without shutting it down exits by itself,
    as ipykernel does (jupyter_client passes JPY_PARENT_PID)."""
    out = subprocess.run([sys.executable, "-c", ORPHAN_SCRIPT, k.name], capture_output=True, text=True, timeout=120)
    lines = out.stdout.split()
    expect(out.returncode == 9 and lines, "the helper client failed: %r %r" % (out.stdout, out.stderr[-2000:]))
    pid = int(lines[-1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return  # exited; a zombie until its new parent reaps it
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    expect(False, "the kernel (pid %d) was still running 10 s after its client died" % pid)


@check
def shutdown(_):
    """shutdown_request: a reply, the process gone within a second or so, and
    the kernel's temporary files (the native workspace of the magics)
    removed."""
    tmp = tempfile.mkdtemp(prefix="perfnb-e2e-tmp-")
    k = Kernel(env={"TMPDIR": tmp})
    try:
        k.ok('fmt.Println("bye")')
        r = k.execute("%timeit -n 10 -r 1 x := 1", timeout=240)
        used_tmp = os.listdir(tmp)
        proc_pid = k.km.provisioner.process.pid if getattr(k.km, "provisioner", None) else None
        t0 = time.monotonic()
        msg_id = k.kc.shutdown(restart=False)
        c = control_reply(k, msg_id)
        expect(c.get("status") == "ok" and c.get("restart") is False, "shutdown_reply: %r" % c)
        while k.km.is_alive() and time.monotonic() - t0 < 5:
            time.sleep(0.02)
        took = time.monotonic() - t0
        alive = k.km.is_alive()
        expect(not alive, "the kernel was still running %.1f s after shutdown_request" % took)
        print("  exited %.3f s after shutdown_request (pid %s)" % (took, proc_pid))
        if r.status == "ok" and used_tmp:
            left = os.listdir(tmp)
            expect(not left, "shutdown left temporary files in TMPDIR: %r (the kernel had %r)" % (left, used_tmp))
        else:
            print("  note: %%timeit did not run or used no TMPDIR (status %s, %r); temporary files not checked"
                  % (r.status, used_tmp))
    finally:
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print("python %s, %s" % (platform.python_version(), sys.executable), flush=True)
    sys.exit(run_checks())
