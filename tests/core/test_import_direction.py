"""The server package imports one way: each layer only from the layers below it (and itself),
so the request path reads bottom-up in the package layout (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "soap_service"

# Lowest first. A top-level module is named by its file stem; a package by its directory.
LAYERS: tuple[frozenset[str], ...] = (
    # Shared interfaces and facts with no dependency on anything of ours above them.
    frozenset({"core", "domain", "faults", "traveltime", "periodic", "settings_fields",
               "__version__", "contract", "compat"}),
    # The front door, shared state and the database.
    frozenset({"frontdoor", "state", "store"}),
    # Rate limits (also used by the login-failure throttle in security).
    frozenset({"ratelimit"}),
    # Who is calling, and the SOAP application.
    frozenset({"security", "soap"}),
    # Observers, metrics, logs and the service page.
    frozenset({"ops"}),
    # Wiring: settings composed from every package, the Twisted host, the commands.
    frozenset({"settings", "settings_loader", "web", "commands", "cli", "__main__", "__init__"}),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_units(tree: ast.AST) -> set[str]:
    """Every unit of ours an `import`/`from` statement names, deferred ones included."""
    units: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "soap_service":
                continue
            if len(parts) > 1:
                units.add(parts[1])
            else:  # from soap_service import faults, __version__
                units.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "soap_service" and len(parts) > 1:
                    units.add(parts[1])
    return units


def _edges() -> dict[str, set[tuple[str, str]]]:
    edges: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit_of(path)
        for target in _imported_units(ast.parse(path.read_text(encoding="utf-8"))):
            if target != unit:
                edges.setdefault(unit, set()).add((target, str(path.relative_to(PACKAGE))))
    return edges


def test_every_unit_has_a_layer() -> None:
    units = {_unit_of(p) for p in PACKAGE.rglob("*.py")}
    assert units - RANK.keys() == set(), "add new packages to LAYERS"


def test_no_upward_import() -> None:
    upward = sorted(
        f"{where}: {unit} (layer {RANK[unit]}) imports {target} (layer {RANK[target]})"
        for unit, targets in _edges().items()
        for target, where in targets
        if RANK.get(target, 0) > RANK[unit]
    )
    assert upward == []


def test_no_two_way_package_dependency() -> None:
    edges = {unit: {t for t, _ in targets} for unit, targets in _edges().items()}
    pairs = sorted(
        (a, b) for a, targets in edges.items() for b in targets if a < b and a in edges.get(b, ())
    )
    assert pairs == []


@pytest.mark.parametrize("unit", sorted(LAYERS[0]))
def test_the_bottom_layer_imports_only_itself(unit: str) -> None:
    targets = {t for t, _ in _edges().get(unit, set())}
    assert targets <= LAYERS[0], targets
