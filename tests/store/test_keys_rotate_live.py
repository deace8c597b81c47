"""A key rotation while servers run: a server given the new key as an additional line keeps
serving PasswordDigest before, during and after `keys rotate`, and one given only the new key
afterwards serves it too (README, "Rotating the account key")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client import errors
from client.client import HighwayClient
from soap_service.security.accounts import AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, new_key_line
from soap_service.store import database
from tests.conftest import RunningServer, start_server
from tests.store.test_db_commands import cli

PASSWORD = "rotating digest pw"


@pytest.fixture
def servers() -> Iterator[list[RunningServer]]:
    started: list[RunningServer] = []
    yield started
    for server in started:
        server.stop()


def _digest_login(server: RunningServer) -> None:
    with HighwayClient(url=server.url, username="dave", password=PASSWORD, digest=True) as c:
        assert c.list_highways()


def test_rotation_without_downtime(db_url: str, tmp_path: Path,
                                   servers: list[RunningServer]) -> None:
    old, new = new_key_line(), new_key_line()
    files = {"old": old, "both": old + new, "new": new}
    paths = {name: tmp_path / f"{name}.key" for name in files}
    for name, content in files.items():
        paths[name].write_bytes(content)
    conn = database.connect(db_url)
    AccountStore(conn).add("dave", "operator", password=PASSWORD,
                           digest_box=DigestSecretBox.from_file(str(paths["old"])))
    conn.close()

    def serve(key: str) -> RunningServer:
        server = start_server(tmp_path, "--accounts-key-file", str(paths[key]),
                              "--accounts-cache-seconds", "0", db=db_url)  # type: ignore[arg-type]
        servers.append(server)
        return server

    holding_old, holding_both = serve("old"), serve("both")
    for server in (holding_old, holding_both):
        _digest_login(server)

    done = cli("keys", "rotate", "--new-key-file", str(paths["new"]), "--db", db_url,
               "--accounts-key-file", str(paths["both"]))
    assert done.returncode == 0, done.stderr
    assert "1 digest secrets re-encrypted" in done.stdout

    _digest_login(holding_both)  # given both keys before the rotation: never interrupted
    holding_new = serve("new")  # the old key retired
    _digest_login(holding_new)
    # The secret really moved: a server that was never given the new key cannot open it.
    with HighwayClient(url=holding_old.url, username="dave", password=PASSWORD,
                       digest=True) as c, pytest.raises(errors.AuthenticationError) as info:
        c.list_highways()
    assert info.value.code == "wsse:FailedAuthentication"
    for server in servers:
        assert "Traceback" not in server.log_text()
