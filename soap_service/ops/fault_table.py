"""The fault table for people, generated from the registry in soap_service/faults.py: the
service page's table and README's `### Fault codes` table (tests/ops/test_fault_table.py keeps
README current; `python -m soap_service.ops.fault_table` prints the Markdown)."""

from __future__ import annotations

import html
import re

from soap_service import faults

_CODE_SPAN = re.compile(r"`([^`]+)`")
README_START = "<!-- fault-table: generated from soap_service/faults.py; do not edit -->"
README_END = "<!-- /fault-table -->"


def fault_rows() -> list[tuple[str, int, str]]:
    """(code, HTTP status, meaning) for every fault code, in the registry's order."""
    return [(spec.code, spec.status, spec.meaning) for spec in faults.REGISTRY.values()]


def meaning_html(meaning: str) -> str:
    """A meaning for the page: escaped, with its `code spans` as <code>."""
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(meaning, quote=False))


def markdown_table() -> str:
    """README's fault table, between its markers."""
    lines = [README_START, "| faultcode | HTTP | meaning |", "| --- | --- | --- |"]
    lines.extend(f"| `{code}` | {status} | {meaning} |" for code, status, meaning in fault_rows())
    lines.append(README_END)
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
