"""Key files with several keys: the first seals, every one opens (a rotation in progress)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from soap_service.security.digest_secrets import (
    DigestSecretBox,
    KeyFileError,
    create_key_file,
    key_file_for,
    key_id,
    new_key_line,
    read_keys,
)


def _key_file(path: Path, *lines: bytes) -> str:
    path.write_bytes(b"".join(lines))
    return str(path)


def test_first_key_seals_every_key_opens(tmp_path: Path) -> None:
    old, new = new_key_line(), new_key_line()
    old_only = DigestSecretBox.from_file(_key_file(tmp_path / "old", old))
    both = DigestSecretBox.from_file(
        _key_file(tmp_path / "both", b"# rotation to the new key\n", new, b"\n", old))
    new_only = DigestSecretBox.from_file(_key_file(tmp_path / "new", new))
    under_old = old_only.seal("dave", "dave digest pw 2")
    under_new = both.seal("dave", "dave digest pw 2")
    assert both.open("dave", under_old) == both.open("dave", under_new) == "dave digest pw 2"
    assert both.open_with_id("dave", under_old)[1] == old_only.key_id
    assert both.open_with_id("dave", under_new)[1] == new_only.key_id == both.key_id
    assert both.key_ids == [new_only.key_id, old_only.key_id]
    with pytest.raises(ValueError):
        old_only.open("dave", under_new)  # a server without the new key cannot open it
    with pytest.raises(ValueError):
        both.open("mallory", under_new)  # still bound to the account name


def test_key_id_is_stable_and_reveals_no_key(tmp_path: Path) -> None:
    path = tmp_path / "k"
    create_key_file(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    (key,) = read_keys(str(path))
    ident = DigestSecretBox.from_file(str(path)).key_id
    assert ident == key_id(key) and len(ident) == 16
    assert ident not in key.hex() and ident not in base64.b64encode(key).decode()


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "no key"),
    (b"# only a comment\n\n", "no key"),
    (b"not base64 at all!\n", "line 1: not base64"),
    (new_key_line() + base64.b64encode(b"short") + b"\n", "line 2: a key must be 32 bytes"),
])
def test_bad_key_files_name_the_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = _key_file(tmp_path / "bad", content)
    with pytest.raises(KeyFileError, match=reason) as info:
        DigestSecretBox.from_file(path)
    assert path in str(info.value)


def test_one_rule_for_the_key_file_of_a_store(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    assert key_file_for(str(db), None) == f"{db}.accounts-key"
    assert key_file_for(f"sqlite:///{db}", None) == f"{db}.accounts-key"
    assert key_file_for("postgresql://u@127.0.0.1:5432/h", None) is None
    assert key_file_for("postgresql://u@127.0.0.1:5432/h", "/etc/k") == "/etc/k"
    assert key_file_for(str(db), "/etc/k") == "/etc/k"
