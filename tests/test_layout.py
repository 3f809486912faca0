"""The house keeps its shape (docs/architecture.md): wings inside bot/, thin
listeners in handlers/, jobs in jobs/; only the composition root assembles them.

Walks every module's imports with `ast`, so a new import that runs the wrong way
fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "jobs", "models")
COMPOSITION_ROOT = {"bot.app", "bot.cli", "bot.runner"}
WINGS = (
    "accounts",
    "touchpoints",
    "escalations",
    "health",
    "revenue",
    "metrics",
    "digest",
    "delivery",
    "home",
    "playground",
)
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute names of the project's modules that `path` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from bot.health import flow` imports the module bot.health.flow
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES and n in MODULES}


def _wing(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "bot" and len(parts) > 1 and parts[1] in WINGS:
        return parts[1]
    return None


def test_only_the_composition_root_imports_handlers_or_jobs() -> None:
    wrong = {
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if name.startswith("bot") and name not in COMPOSITION_ROOT
        for imported in _imports(path)
        if imported.split(".")[0] in ("handlers", "jobs")
    }
    assert not wrong, sorted(wrong)


def test_models_import_nothing_above_them() -> None:
    wrong = {
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if name.startswith("models")
        for imported in _imports(path)
        if not imported.startswith("models")
    }
    assert not wrong, sorted(wrong)


def test_the_slack_edge_imports_no_feature_wing() -> None:
    wrong = {
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if name.startswith("bot.slack")
        for imported in _imports(path)
        if _wing(imported) is not None
    }
    assert not wrong, sorted(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph = {name: _imports(path, top_level_only=True) - {name} for name, path in MODULES.items()}
    # a package's __init__ is imported with any of its modules; do not count that edge
    for name, edges in graph.items():
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_every_wing_says_what_it_holds_and_may_import() -> None:
    for wing in WINGS:
        init = ROOT / "bot" / wing / "__init__.py"
        if not init.parent.exists():
            continue  # a wing that does not exist yet
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "May import" in doc, (
            f"bot/{wing}/__init__.py needs a docstring saying what it may import"
        )


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bot")))
def test_no_module_in_bot_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    where = MODULES[name].relative_to(ROOT)
    assert lines <= MAX_LINES, f"{where} has {lines} lines; split it by what it does"


def test_the_walk_sees_the_imports_it_checks() -> None:
    """The checks above are only as good as the import walk: it must see both forms."""
    assert "bot.health.flow" in _imports(MODULES["handlers.subcommands"])  # from bot.health import flow
    assert "bot.settings" in _imports(MODULES["bot.app"])
    assert "handlers" in _imports(MODULES["bot.app"])  # the composition root assembles handlers
