"""Fences around the private internals of the libraries the server relies on.

Each module here names one library, checks at import that the installed version is inside the
range it was tested with (failing with a clear message otherwise), and is the only place that
touches that library's private names. tests/compat/test_compat.py checks every internal relied on.
"""

from __future__ import annotations

from importlib.metadata import version


class UnsupportedVersion(ImportError):
    """An installed library is outside the version range a compat module was tested with."""


def _as_tuple(text: str) -> tuple[int, ...]:
    """'26.10.0' -> (26, 10, 0); stops at the first non-numeric part ('5.8.0rc1' -> (5, 8))."""
    parts: list[int] = []
    for piece in text.split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def require(distribution: str, lowest: str, below: str, installed: str | None = None) -> str:
    """The installed version of `distribution`; UnsupportedVersion unless lowest <= it < below."""
    found = installed if installed is not None else version(distribution)
    if not _as_tuple(lowest) <= _as_tuple(found) < _as_tuple(below):
        raise UnsupportedVersion(
            f"{distribution} {found} is installed, but soap_service relies on its internals and "
            f"was tested with {distribution} >= {lowest}, < {below}: install a version in that "
            f"range, or check the internals listed in soap_service/compat/ and widen the range."
        )
    return found
