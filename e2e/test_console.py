"""Drives `jupyter console --kernel perfnb` in a pseudo-terminal.

A multi-line function definition must be accepted as one cell thanks to the
kernel's is_complete_reply ("incomplete" after the first line keeps the
console asking for more), and calling the function must print its result.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_console.py
"""

import os
import re
import sys

import pexpect

KERNEL = os.environ.get("PERFNB_KERNEL", "perfnb")
TIMEOUT = float(os.environ.get("PERFNB_E2E_TIMEOUT", "60"))
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][A-Z0-9]|[=>])")


def fail(msg, child):
    text = ANSI.sub("", (child.before or "") + str(child.after or ""))
    print("FAIL console: %s\n--- terminal (ANSI stripped) ---\n%s" % (msg, text[-3000:]), flush=True)
    child.terminate(force=True)
    sys.exit(1)


def main():
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40")
    child = pexpect.spawn(
        "/usr/bin/python3",
        ["-m", "jupyter_console", "--kernel", KERNEL, "--ZMQTerminalInteractiveShell.confirm_exit=False",
         "--ZMQTerminalInteractiveShell.kernel_is_complete_timeout=10"],
        env=env, encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 120),
    )
    transcript = []
    child.logfile_read = _Collector(transcript)

    def wait_prompt(n):
        try:
            child.expect(r"In \[%d\]" % n)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            fail("no prompt In [%d] (%s)" % (n, type(e).__name__), child)

    wait_prompt(1)
    child.send("func add(a, b int) int {\r")
    try:
        child.expect(r"\.\.\.:")
    except (pexpect.TIMEOUT, pexpect.EOF):
        fail("no continuation prompt after 'func add(a, b int) int {': is_complete did not say incomplete", child)
    child.send("return a + b\r")
    child.send("}\r")
    # prompt_toolkit may need an empty line to end an indented block.
    wait_prompt(2)
    child.send("add(40, 2)\r")
    try:
        child.expect(r"Out\[2\]:\s*42")
    except (pexpect.TIMEOUT, pexpect.EOF):
        fail("add(40, 2) did not print Out[2]: 42", child)
    wait_prompt(3)
    child.send('fmt.Println("from the console")\r')
    try:
        child.expect("from the console\r?\n")
    except (pexpect.TIMEOUT, pexpect.EOF):
        fail("fmt.Println output not shown", child)
    wait_prompt(4)
    child.sendcontrol("d")
    try:
        child.expect(pexpect.EOF, timeout=20)
    except pexpect.TIMEOUT:
        fail("the console did not exit on Ctrl-D", child)
    child.close()
    text = ANSI.sub("", "".join(transcript))
    if re.search(r"(?i)error|traceback", text):
        print("FAIL console: an error was shown:\n%s" % text[-3000:], flush=True)
        return 1
    print("PASS console", flush=True)
    return 0


class _Collector:
    def __init__(self, out):
        self.out = out

    def write(self, s):
        self.out.append(s)

    def flush(self):
        pass


if __name__ == "__main__":
    sys.exit(main())
