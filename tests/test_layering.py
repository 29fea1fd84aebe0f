"""The one direction of dependency (DESIGN §5): the two doors never import each other, mail/ knows neither door,
and the API views see only the identity the doors produce."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    ("files", "forbidden"),
    [
        ("forge/*.py", {"connect", "views", "mail", "sandbox"}),
        ("connect/*.py", {"forge", "views", "mail", "sandbox"}),
        ("mail/*.py", {"connect", "forge", "views", "sandbox"}),
        ("models/**/*.py", {"connect", "forge", "views", "mail", "sandbox"}),
        ("confluence/*.py", {"connect", "forge", "views", "mail", "models", "sandbox"}),
        ("views/api.py", {"connect", "forge"}),
        ("views/admin_api.py", {"connect", "forge"}),
        ("views/context.py", {"connect", "forge"}),
        ("sandbox/**/*.py", {"app", "connect", "forge", "views", "mail", "models", "confluence", "identity"}),
    ],
)
def test_imports_go_one_way(files: str, forbidden: set[str]) -> None:
    paths = sorted(ROOT.glob(files))
    assert paths, files
    crossing = {str(p.relative_to(ROOT)): sorted(imported(p) & forbidden) for p in paths if imported(p) & forbidden}
    assert crossing == {}
