"""perfnb against jupyter_kernel_test's KernelTests (Debian's 0.4.5).

Run from e2e/ with JUPYTER_PATH pointing at an installed perfnb kernelspec:
    /usr/bin/python3 -m unittest -v test_kernel_conformance

Every sample attribute that KernelTests 0.4.5 reads has a Go sample here,
and every message is checked against the protocol's schema (msgspec_v5).
"""

import base64
import os
import unittest

import jupyter_kernel_test

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_LITERAL = "[]byte{" + ", ".join(str(b) for b in PNG) + "}"


class PerfnbKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("PERFNB_KERNEL", "perfnb")

    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'fmt.Fprintln(os.Stderr, "something went wrong")'

    completion_samples = [
        {"text": "fmt.Sprin", "matches": {"Sprint", "Sprintf", "Sprintln"}},
        {"text": "strings.HasPre", "matches": {"HasPrefix"}},
        {"text": "fallthr", "matches": {"fallthrough"}},
    ]

    complete_code_samples = [
        "x := 1",
        "fmt.Println(1)",
        "func f() {\n}",
        'import "strings"',
        "type t struct{ a int }",
    ]
    incomplete_code_samples = [
        "func f() {",
        "for i := 0; i < 3; i++ {\n\tfmt.Println(i)",
        "x := []int{\n1,",
        "s := `raw\nstring",
    ]
    invalid_code_samples = [
        "x := )",
        "func f() {}}",
    ]

    code_page_something = "strings.Split?"

    code_generate_error = 'panic("this cell fails")'

    code_execute_result = [
        {"code": "1 + 2 + 3", "result": "6"},
        {"code": "[]int{1, 4, 9}", "result": "[1 4 9]"},
        {"code": "len(\"gopher\") * 2", "result": "12"},
    ]

    code_display_data = [
        {"code": 'display.HTML("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.Markdown("*emphasis*")', "mime": "text/markdown"},
        {"code": 'display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`)', "mime": "image/svg+xml"},
        {"code": "display.PNG(%s)" % PNG_LITERAL, "mime": "image/png"},
        {"code": 'display.JSON(map[string]int{"a": 1})', "mime": "application/json"},
        {"code": 'display.Text("plain")', "mime": "text/plain"},
    ]

    # Matches exactly one of code_execute_result's codes.
    code_history_pattern = "1 + 2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "strings.Split"

    code_clear_output = "display.ClearOutput()"


if __name__ == "__main__":
    unittest.main()
