"""The floors of src/asrlab (docs/architecture.md): every import goes down, never up."""

import ast
from pathlib import Path

import asrlab

PACKAGE = Path(asrlab.__file__).parent
# Lower floors first; a module may import its own floor and those before it.
FLOORS = ["storage", "trust", "text", "data", "decoders", "model", "training", "tools", "cli"]


def _floor(module: str) -> int | None:
    top = module.split(".")[1] if module.startswith("asrlab.") else None
    return FLOORS.index(top) if top in FLOORS else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n.startswith("asrlab.")]


def test_every_module_lives_on_a_floor() -> None:
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert tops - {"__init__", "conf"} == set(FLOORS)


def test_no_import_climbs_to_a_higher_floor() -> None:
    climbs = []
    for path in PACKAGE.rglob("*.py"):
        module = "asrlab." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = _floor(module)
        if own is None:
            continue
        for name in _imports(path):
            floor = _floor(name)
            if floor is not None and floor > own:
                climbs.append(f"{module} imports {name}")
    assert not climbs, "\n".join(sorted(climbs))
