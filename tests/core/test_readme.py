"""README.md runs as written: its shell and Python blocks are extracted from README.md itself
and run against a real server, and every highway-server/highway-client command it shows parses.

Each ```sh / ```python block says how it is tested with an HTML comment on the line before
its fence (invisible on GitHub); a block without one fails this test:

- `<!-- readme-test: serve -->`: the quick start's server. The parts before the last `&&`
  (creating the venv, `pip install`) are syntax-checked only (this test runs in an installed
  venv); the last part, a `highway-server serve` command, is started in a scratch directory
  with `--port 0` appended (so `./highway.db` is the scratch directory's and the port is free).
- `<!-- readme-test: run -->`: every command line of the block is run with bash, in order, in
  the scratch directory, after the line the server printed
  (`export HIGHWAY_URL=... HIGHWAY_USERNAME=... HIGHWAY_PASSWORD=...`), as in a terminal where
  that line was pasted. The block's own `export HIGHWAY_...=...` placeholder line is replaced
  by the printed line and must name the same variables. Each command must exit 0; its stdin is
  one password line (for `users add`).
- `<!-- readme-test: python -->`: run with the interpreter, the printed variables set.
- `<!-- readme-test: syntax: REASON -->`: cannot run here (REASON says why: a foreground
  server, sudo, another toolchain); `bash -n` or `compile()` must accept it.
- `expect="TEXT"` (repeatable) in a run/python marker: TEXT must appear in the block's output.

Substitutions, the only ones: `.venv/bin/` means this interpreter's bin directory, which is
also first on PATH (as after the quick start install); the scratch directory holds copies of
`samples/` and `highway.example.toml`, the repository files README's commands name.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<kind>[a-z]+)(?P<rest>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
SHELL_LANGS = {"sh", "bash", "shell", "console"}
KINDS = {"serve", "run", "python", "syntax"}
EXPORT = re.compile(r"^export HIGHWAY_URL=\S+ HIGHWAY_USERNAME=\S+ HIGHWAY_PASSWORD=\S+$")
PASSWORD_INPUT = "readme-test-password\n"


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of README.md and how it is to be tested."""

    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    kind: str | None  # serve, run, python, syntax; None when unmarked
    marker_rest: str = ""

    @property
    def expects(self) -> list[str]:
        """The `expect="..."` texts of the marker."""
        return re.findall(r'expect="([^"]*)"', self.marker_rest)

    def where(self) -> str:
        """Where the block is, for messages."""
        return f"README.md:{self.line} ({self.lang or 'no language'} block)"


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block with the readme-test marker on the nearest line above it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent = len(fence.group("indent"))
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        marker = MARKER.match(lines[above]) if above >= 0 else None
        blocks.append(Block(
            line=start + 1, lang=fence.group("lang").lower(), text="\n".join(body) + "\n",
            kind=marker.group("kind") if marker else None,
            marker_rest=marker.group("rest") if marker else "",
        ))
        i += 1
    return blocks


def logical_lines(script: str) -> list[str]:
    """Shell command lines: backslash continuations joined, blank and comment lines dropped."""
    result: list[str] = []
    pending = ""
    for raw in script.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            result.append(line)
    if pending.strip():
        result.append(pending.strip())
    return result


def substitute(command: str) -> str:
    """The one documented substitution: `.venv/bin/` is this test's interpreter's bin dir."""
    return re.sub(r"(?<![\w/])\.venv/bin/", f"{VENV_BIN}/", command)


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


# --- every block is accounted for ---------------------------------------------------------


def test_every_shell_and_python_block_says_how_it_is_tested() -> None:
    """No block is skipped silently: each sh/python block carries a known readme-test marker."""
    problems = []
    for block in BLOCKS:
        if block.lang not in SHELL_LANGS | {"python"}:
            continue
        if block.kind is None:
            problems.append(f"{block.where()}: no <!-- readme-test: ... --> marker")
        elif block.kind not in KINDS:
            problems.append(f"{block.where()}: unknown marker kind {block.kind!r}")
        elif block.kind == "syntax" and not block.marker_rest.strip(" :"):
            problems.append(f"{block.where()}: `syntax` needs a reason")
        elif block.kind == "python" and block.lang != "python":
            problems.append(f"{block.where()}: `python` marker on a shell block")
        elif block.kind in ("serve", "run") and block.lang not in SHELL_LANGS:
            problems.append(f"{block.where()}: `{block.kind}` marker on a Python block")
    assert not problems, "\n".join(problems)
    kinds = [b.kind for b in BLOCKS]
    # The quick start is what this test exists for: it must stay runnable, not become `syntax`.
    assert kinds.count("serve") == 1 and "run" in kinds and "python" in kinds, kinds


def test_blocks_that_cannot_run_here_are_valid_syntax() -> None:
    """`syntax` blocks (and the install steps of the serve block): bash -n or compile()."""
    checked = 0
    for block in BLOCKS:
        if block.kind == "syntax" and block.lang == "python":
            compile(block.text, block.where(), "exec")
        elif block.kind in ("syntax", "serve", "run") and block.lang in SHELL_LANGS:
            done = subprocess.run(["bash", "-n"], input=block.text, text=True,
                                  capture_output=True)
            assert done.returncode == 0, f"{block.where()}: {done.stderr}"
        else:
            continue
        checked += 1
    assert checked >= 5


REPO_PATH = re.compile(r"^(?:\./)?(?P<top>[\w.-]+)/[\w./-]*[\w-]$")


def test_repository_files_that_shell_blocks_name_exist() -> None:
    """A block that cannot run still names real files: a path under one of the repository's
    top-level directories (tests/interop/..., deploy/..., .ci/setup), in a shell block or an
    inline code span, must exist."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in {".venv", ".git"}}
    named: list[tuple[str, str]] = []
    for block in BLOCKS:
        if block.lang in SHELL_LANGS:
            for line in logical_lines(block.text):
                with contextlib.suppress(ValueError):
                    named += [(block.where(), w) for w in shlex.split(line, comments=True)]
    for number, span in _inline_spans(README.read_text(encoding="utf-8")):
        named += [(f"README.md:{number} (inline)", w) for w in span.split()]
    missing, checked = [], 0
    for where, word in named:
        match = REPO_PATH.match(word)
        if not match or match["top"] not in tops or "*" in word:
            continue
        checked += 1
        if not (ROOT / word).exists():
            missing.append(f"{where}: {word}")
    assert not missing, "\n".join(missing)
    assert checked >= 20


def test_toml_blocks_use_only_known_settings() -> None:
    """A configuration shown in README parses and names settings that exist."""
    from soap_service.settings_loader import iter_settings

    known = {ref.key for ref in iter_settings()}
    tomls = [b for b in BLOCKS if b.lang == "toml"]
    assert tomls
    for block in tomls:
        data = tomllib.loads(block.text)
        for section, values in data.items():
            for name in values:
                assert f"{section}.{name}" in known, f"{block.where()}: {section}.{name}"


# --- every command line README shows parses -----------------------------------------------


COMMAND = re.compile(r"(?:^|(?<=[\s/(`]))(highway-(?:server|client))(?=\s|$)(?P<rest>.*)$")
CUT = re.compile(r"\s(?:&&|\|\||\||;|#|>|<)\s|\s#|;")


def _inline_spans(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each `inline code` span outside fenced blocks and HTML comments."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\s*```", line):
            in_fence = not in_fence
            continue
        if in_fence or line.lstrip().startswith("<!--"):
            continue
        for span in re.findall(r"`([^`]+)`", line):
            yield number, span


def _synopsis_lines(text: str) -> list[str]:
    """Lines of a plain block, an indented `[--flag ...]` or `--flag` line joined to the
    command line above it (a wrapped usage synopsis)."""
    lines: list[str] = []
    for line in text.splitlines():
        if lines and re.match(r"^\s+[\[-]", line):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def readme_command_lines() -> list[tuple[str, str, str]]:
    """(where, program, arguments) for every highway-server/highway-client command in
    README.md: in code blocks of any language and in inline code spans."""
    found: list[tuple[str, str, str]] = []
    sources: list[tuple[str, str]] = []
    for block in BLOCKS:
        lines = (logical_lines(block.text) if block.lang in SHELL_LANGS
                 else _synopsis_lines(block.text))
        sources += [(block.where(), line) for line in lines]
    sources += [(f"README.md:{n} (inline)", span)
                for n, span in _inline_spans(README.read_text(encoding="utf-8"))]
    for where, line in sources:
        # The image's entrypoint is `highway-server serve --host 0.0.0.0` (Dockerfile): the
        # arguments after the image name are serve's.
        image = re.search(r"\bdocker run\b.*\shighway-traffic\s+(?P<args>-.*)$", line)
        if image:
            found.append((where, "highway-server", "serve --host 0.0.0.0 " + image["args"]))
        for segment in re.split(r"&&|\|\||;", line):
            match = COMMAND.search(segment)
            if not match:
                continue
            rest = CUT.split(" " + match.group("rest") + " ", maxsplit=1)[0].strip()
            if rest:
                found.append((where, match.group(1), rest))
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings}


def _parser(program: str) -> argparse.ArgumentParser:
    if program == "highway-server":
        from soap_service.cli import build_parser
    else:
        from client.cli import build_parser
    return build_parser()


def check_synopsis(program: str, rest: str) -> list[str]:
    """For a usage synopsis (`[--flag X]`, `a|b`, `...`): every subcommand word and every
    --flag must exist at the position it is written. Returns the problems."""
    parser = _parser(program)
    problems = []
    words = rest.replace("[", " ").replace("]", " ").split()
    for word in words:
        if word.startswith("..."):
            continue
        if word.startswith("-"):
            for flag in word.split("|"):
                name = flag.split("=", 1)[0]
                if name.startswith("-") and name not in _options(parser):
                    problems.append(f"{name} is not an option of `{parser.prog}`")
            continue
        subs = _subparsers(parser)
        choices = [w for w in word.split("|") if w]
        if subs and all(c in subs for c in choices):
            if len(choices) == 1:
                parser = subs[choices[0]]
        elif subs and "|" in word and any(c in subs for c in choices):
            problems.append(f"{word}: not every alternative is a command of `{parser.prog}`")
    return problems


PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_.:-]*$")


def check_command(program: str, rest: str) -> list[str]:
    """A concrete command line: argparse accepts it (placeholder values like N or FILE aside)."""
    try:  # a command substitution, e.g. $(date +%F), is one word's worth of text here
        argv = shlex.split(re.sub(r"\$\([^)]*\)", "x", rest))
    except ValueError as exc:
        return [f"not valid shell words: {exc}"]
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            _parser(program).parse_args(argv)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help, --version
            return []
        message = err.getvalue().strip().splitlines()[-1:] or ["?"]
        bad_value = re.search(r"invalid (?:.* value|choice): '([^']*)'", message[0])
        if bad_value and PLACEHOLDER.match(bad_value.group(1)):
            return []  # e.g. `--workers N`: a placeholder where a number goes
        return message
    return []


def test_every_command_line_in_readme_parses() -> None:
    """No README command uses a subcommand or flag that does not exist."""
    commands = readme_command_lines()
    assert len(commands) >= 40, commands  # README shows many; an extractor bug finds none
    problems = []
    for where, program, rest in commands:
        synopsis = "[" in rest or "|" in rest or "..." in rest
        found = check_synopsis(program, rest) if synopsis else check_command(program, rest)
        problems += [f"{where}: `{program} {rest}`: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_made_up_flag() -> None:
    """The parse check can fail: a flag or subcommand that does not exist is reported."""
    assert check_command("highway-client", "highways --colour")
    assert check_command("highway-server", "users add alice --role wizard")
    assert check_synopsis("highway-server", "serve [--hots 127.0.0.1]")
    assert check_synopsis("highway-server", "db migrate|vacuum")
    assert not check_command("highway-server", "serve --workers N")
    assert not check_synopsis("highway-client", "[--url URL] travel-times HIGHWAY [--direction NB]")


# --- the quick start, run -------------------------------------------------------------------


@dataclasses.dataclass
class QuickStart:
    """The server README's serve block started, and what it printed."""

    scratch: Path
    process: subprocess.Popen[bytes]
    log: Path
    export: str  # the `export HIGHWAY_URL=... HIGHWAY_USERNAME=... HIGHWAY_PASSWORD=...` line

    def env(self) -> dict[str, str]:
        """The environment of a terminal where the printed line was pasted."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHWAY_")}
        for word in shlex.split(self.export)[1:]:
            name, _, value = word.partition("=")
            env[name] = value
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["NO_COLOR"] = "1"
        env["COLUMNS"] = "160"  # a wide terminal: tables are not wrapped
        return env


def _serve_command() -> tuple[list[str], str]:
    """(install steps, serve command) of the serve block."""
    (block,) = [b for b in BLOCKS if b.kind == "serve"]
    (line,) = logical_lines(block.text)
    *setup, serve = [part.strip() for part in line.split("&&")]
    assert re.search(r"(^|/)highway-server serve\b", serve), f"{block.where()}: {serve}"
    assert any("pip install" in step for step in setup), f"{block.where()}: no install step"
    return setup, serve


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickStart]:
    """README's serve command, in a scratch directory, on a free loopback port."""
    scratch = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "samples", scratch / "samples")
    shutil.copy(ROOT / "highway.example.toml", scratch / "highway.example.toml")
    _, serve = _serve_command()
    for program in ("highway-server", "highway-client"):
        assert (VENV_BIN / program).exists(), (
            f"{VENV_BIN / program} is missing: README's commands need the package installed "
            "in this interpreter's venv (pip install -e .)")
    argv = shlex.split(substitute(serve)) + ["--port", "0"]
    log = scratch / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHWAY_")}
    env["PYTHONUNBUFFERED"] = "1"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=scratch, env=env, stdout=out, stderr=out,
                                   stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        export = None
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text(errors="replace")
            lines = [line for line in text.splitlines() if EXPORT.match(line)]
            if lines and "listening on" in text:
                export = lines[0]
                break
            time.sleep(0.05)
        assert export, f"README's serve command printed no export line:\n{log.read_text()}"
        yield QuickStart(scratch, process, log, export)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_prints_the_line_the_quick_start_pastes(quick_start: QuickStart) -> None:
    """The printed line names the listener really bound and the demo account."""
    env = quick_start.env()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/soap", env["HIGHWAY_URL"])
    assert not env["HIGHWAY_URL"].endswith(":0/soap")
    assert env["HIGHWAY_USERNAME"] == "demo" and env["HIGHWAY_PASSWORD"]
    assert (quick_start.scratch / "highway.db").exists()  # `./highway.db` of the default


def _run_block(block: Block, quick_start: QuickStart) -> str:
    """Run each command line of a `run` block as a terminal with the pasted line would."""
    output = []
    for line in logical_lines(block.text):
        if line.startswith("export HIGHWAY_"):
            pasted = line.split("#", 1)[0].split()
            printed = quick_start.export.split()
            names = [w.split("=", 1)[0] for w in pasted]
            assert names == [w.split("=", 1)[0] for w in printed], (
                f"{block.where()}: README's placeholder {line!r} does not match what the "
                f"server prints: {quick_start.export!r}")
            continue  # the printed line is in the environment already
        done = subprocess.run(
            ["bash", "-c", f"set -eo pipefail; {quick_start.export}; {substitute(line)}"],
            cwd=quick_start.scratch, env=quick_start.env(), input=PASSWORD_INPUT, text=True,
            capture_output=True, timeout=300,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, (
            f"{block.where()}: `{line}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        output.append(done.stdout + done.stderr)
    return "\n".join(output)


RUN_BLOCKS = [b for b in BLOCKS if b.kind == "run"]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[f"line{b.line}" for b in RUN_BLOCKS])
def test_shell_block_runs_as_written(block: Block, quick_start: QuickStart) -> None:
    """A `run` block, in README order against the quick start's server, exits 0 everywhere."""
    output = _run_block(block, quick_start)
    for text in block.expects:
        assert text in output, f"{block.where()}: {text!r} not in\n{output}"


def test_quick_start_client_lines_have_no_url_flag() -> None:
    """After the pasted line, the quick start's client commands need nothing else."""
    client_lines = [line for b in RUN_BLOCKS for line in logical_lines(b.text)
                    if "highway-client" in line]
    assert client_lines
    first = [b for b in RUN_BLOCKS if "highway-client" in b.text][0]
    assert all("--url" not in line for line in logical_lines(first.text))


PYTHON_BLOCKS = [b for b in BLOCKS if b.kind == "python"]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"line{b.line}" for b in PYTHON_BLOCKS])
def test_python_block_runs_as_written(block: Block, quick_start: QuickStart) -> None:
    """A `python` block runs with the printed variables set, and prints what it says."""
    env = quick_start.env()
    env["PYTHONPATH"] = str(ROOT)  # `from client import ...` as from the repository root
    done = subprocess.run([sys.executable, "-c", block.text], cwd=quick_start.scratch,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{block.where()}:\n{done.stdout}\n{done.stderr}"
    for text in block.expects:
        assert text in done.stdout, f"{block.where()}: {text!r} not in\n{done.stdout}"


def test_docker_run_arguments_are_serve_arguments() -> None:
    """README's `docker run ... highway-traffic ARGS` lines are parsed as serve's flags; that
    holds as long as the image's entrypoint is `highway-server serve --host 0.0.0.0`."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["highway-server", "serve", "--host", "0.0.0.0"]' in dockerfile
    assert any("docker run" in b.text for b in BLOCKS)
