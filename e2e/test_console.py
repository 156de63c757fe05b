"""Drives `jupyter console --kernel perfnb` in a pseudo-terminal.

A multi-line function definition must be accepted as one cell thanks to the
kernel's is_complete_reply ("incomplete" after the first line keeps the
console asking for more), and calling the function must print its result.

Run: JUPYTER_PATH=... /usr/bin/python3 e2e/test_console.py
"""

import os
import re
import sys
import time

import pexpect

KERNEL = os.environ.get("PERFNB_KERNEL", "perfnb")
TIMEOUT = float(os.environ.get("PERFNB_E2E_TIMEOUT", "60"))
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][A-Z0-9]|[=>])")


class Terminal:
    """A pexpect child whose output is matched with ANSI escapes removed
    (prompt_toolkit colours the prompt number apart from "In [")."""

    def __init__(self, child):
        self.child = child
        self.raw = ""
        self.pos = 0  # matches are searched after the previous match

    def text(self):
        return ANSI.sub("", self.raw).replace("\r", "")

    def expect(self, pattern, what, timeout=TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text(), self.pos)
            if m:
                self.pos = m.end()
                return m
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s (%r)" % (what, pattern))
            try:
                self.raw += self.child.read_nonblocking(4096, timeout=0.2)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                m = rx.search(self.text(), self.pos)
                if m:
                    self.pos = m.end()
                    return m
                self.fail("the console ended while waiting for %s" % what)

    def fail(self, msg):
        print("FAIL console: %s\n--- terminal (ANSI stripped) ---\n%s" % (msg, self.text()[-3000:]), flush=True)
        self.child.terminate(force=True)
        sys.exit(1)


def main():
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(
        "/usr/bin/python3",
        ["-m", "jupyter_console", "--kernel", KERNEL, "--ZMQTerminalIPythonApp.confirm_exit=False",
         "--ZMQTerminalInteractiveShell.kernel_is_complete_timeout=10"],
        env=env, encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 120),
    )
    term = Terminal(child)
    term.expect(r"In \[1\]: ", "the first prompt")
    child.send("func add(a, b int) int {\r")
    term.expect(r"\.\.\.: ", "a continuation prompt after 'func add(a, b int) int {' (is_complete must say incomplete)")
    child.send("return a + b\r")
    term.expect(r"\.\.\.: ", "a continuation prompt after 'return a + b'")
    child.send("}\r")
    term.expect(r"In \[2\]: ", "the prompt after the function definition")
    child.send("add(40, 2)\r")
    term.expect(r"Out\[2\]: 42", "Out[2]: 42")
    term.expect(r"In \[3\]: ", "the third prompt")
    child.send('fmt.Println("from the console")\r')
    term.expect(r"\nfrom the console\n", "the output of fmt.Println")
    term.expect(r"In \[4\]: ", "the fourth prompt")
    child.sendcontrol("d")
    try:
        child.expect(pexpect.EOF, timeout=20)
    except pexpect.TIMEOUT:
        term.fail("the console did not exit on Ctrl-D")
    term.raw += child.before or ""
    child.close()
    text = term.text()
    if re.search(r"(?i)traceback|\berror\b|panic", text):
        print("FAIL console: an error was shown:\n%s" % text[-3000:], flush=True)
        return 1
    if os.environ.get("PERFNB_E2E_VERBOSE"):
        print(text)
    print("PASS console", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
