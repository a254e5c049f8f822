"""`shared/` says what it holds: mechanisms in `shared/platform/`, Cixi's shared domain in `shared/cixi/`.
A mechanism knows no domain, so no module of the platform imports `shared.cixi` or `services`, at the top
or inside a function."""

import ast
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
PLATFORM = sorted((SHARED / "platform").rglob("*.py"))
FORBIDDEN = ("shared.cixi", "services")


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_the_platform_is_walked():
    assert len(PLATFORM) > 30


def test_shared_holds_only_the_two_packages():
    assert sorted(path.name for path in SHARED.glob("*.py")) == ["__init__.py"]
    assert {path.name for path in SHARED.iterdir() if path.is_dir() and path.name != "__pycache__"} == {
        "platform",
        "cixi",
    }


@pytest.mark.parametrize("path", PLATFORM, ids=lambda path: path.name)
def test_no_mechanism_imports_the_domain(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"shared/platform/{path.name}:{line}: {name}"
        for line, name in imported(tree)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)
    ]
    assert not found, "a mechanism must not depend on Cixi's domain or a service:\n" + "\n".join(found)


def test_the_walk_sees_an_import_inside_a_function():
    tree = ast.parse("def f():\n    from shared.cixi.appeals import OPEN_SQL\n    import services.housing\n")
    assert [name for _, name in imported(tree)] == [
        "shared.cixi.appeals",
        "shared.cixi.appeals.OPEN_SQL",
        "services.housing",
    ]
