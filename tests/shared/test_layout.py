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


ROOT = SHARED.parent
CODE = sorted(
    path
    for folder in ("shared", "services")
    for path in (ROOT / folder).rglob("*.py")
    if "migrations" not in path.parts and not path.parent.name.startswith("fake_") and path.name != "fake_gateway.py"
)


def _calls(path: Path, dotted: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == dotted
    ]


def test_ids_are_made_in_one_place():
    """Every id the platform makes comes from `shared.platform.ids.new_id` (the fake SMS gateways imitate
    the vendors' own formats, and stay out)."""
    found = [hit for path in CODE if path.name != "ids.py" for hit in _calls(path, "uuid.uuid4")]
    assert not found, "use shared.platform.ids.new_id():\n" + "\n".join(found)


def test_cixi_time_is_named_in_the_clock_module_only():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in CODE + sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "clock.py" and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if 'ZoneInfo("Asia/Shanghai")' in line
    ]
    assert not found, "use shared.platform.clock.SHANGHAI (or local_now / local_date):\n" + "\n".join(found)


def test_one_timer_mechanism():
    found = [
        f"{path.relative_to(ROOT)}"
        for path in CODE
        if path.name != "timers.py" and "nameko.timer" in path.read_text(encoding="utf-8")
    ]
    assert not found, "use shared.platform.timers.timer:\n" + "\n".join(found)
