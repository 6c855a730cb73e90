"""The package's shape: no import cycle, and no import runs up the layers.

Lowest first: ``constants``, ``errors``, ``text``, ``config`` < ``llm``, ``db`` < ``stack``,
``service``, ``ocr``, ``limits``, ``cases``, ``accounts`` < ``rag``, ``notes``,
``documents``, ``eligibility`` < ``bench``, ``cli``, ``app``, the document corpus and the
database migrations (Alembic's environment loads every module that has tables).
``accounts`` sits beside ``service`` and ``limits``: the services' gate checks service
tokens with it, and the limits approvals and the case record name who acts with its
``Actor``. A new part of the package must be given its place here. Every import counts,
including those inside functions and under ``TYPE_CHECKING``: a cycle or an upward import
there is the same design fault, only hidden.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
LAYERS: dict[str, int] = {
    "rma": 0,
    "rma.constants": 0,
    "rma.errors": 0,
    "rma.text": 0,
    "rma.config": 0,
    "rma.llm": 1,
    "rma.db": 1,
    "rma.stack": 2,
    "rma.service": 2,
    "rma.ocr": 2,
    "rma.limits": 2,
    "rma.cases": 2,
    "rma.accounts": 2,
    "rma.rag": 3,
    "rma.notes": 3,
    "rma.documents": 3,
    "rma.eligibility": 3,
    "rma.bench": 4,
    "rma.cli": 4,
    # The document corpus (generated test papers and their scorer) serves tests and
    # benchmarks, never the reader; the documents' commands offer it.
    "rma.documents.corpus": 4,
    "rma.documents.cli": 4,
    "rma.app": 4,
    "rma.db.migrations": 4,
}
# Parts that stand alone within their layer: each product is deployable without the
# others, and rma.text is below everything of ours.
ALONE = ("rma.rag", "rma.notes", "rma.documents", "rma.text")


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Each module of ``rma`` and the modules of ``rma`` it imports (``from a import b``
    counts as importing ``a.b`` when that is a module)."""
    modules = {module_name(p, src): p for p in sorted((src / "rma").rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    found.add(child if child in modules else base)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def part(module: str) -> str:
    """The part a module belongs to: ``rma`` itself, ``rma.<part>``, or a deeper part
    that :data:`LAYERS` names (the longest that fits)."""
    pieces = module.split(".")
    deeper = (".".join(pieces[:n]) for n in range(len(pieces), 2, -1))
    return next((p for p in deeper if p in LAYERS), ".".join(pieces[:2]))


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports that run up the layers, or across parts that stand alone."""
    wrong = []
    for module, imported in sorted(graph.items()):
        mine = part(module)
        for other in sorted(imported):
            theirs = part(other)
            if mine not in LAYERS or theirs not in LAYERS:
                continue  # test_every_module_is_in_a_layer names it
            if LAYERS[theirs] > LAYERS[mine]:
                wrong.append(
                    f"{module} (layer {LAYERS[mine]}) imports {other} (layer {LAYERS[theirs]})"
                )
            elif theirs != mine and mine in ALONE and LAYERS[theirs] == LAYERS[mine]:
                wrong.append(f"{module} imports {other}: {mine} stands alone in its layer")
            elif mine == "rma.text" and theirs != mine:
                wrong.append(f"{module} imports {other}: rma.text uses nothing of ours")
    return wrong


def test_every_module_is_in_a_layer() -> None:
    assert sorted({part(m) for m in import_graph()} - set(LAYERS)) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_import_runs_up_the_layers() -> None:
    assert upward_imports(import_graph()) == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A planted cycle and a planted upward import are both caught."""
    rma = tmp_path / "rma"
    for name, body in {
        "__init__.py": "",
        "text/__init__.py": "from rma.llm.router import x\n",
        "llm/__init__.py": "",
        "llm/router.py": "def f():\n    from rma.llm import factory\n",
        "llm/factory.py": "from .router import f\n",
        "notes/__init__.py": "from rma.rag import y\n",
        "rag/__init__.py": "",
    }.items():
        (rma / name).parent.mkdir(parents=True, exist_ok=True)
        (rma / name).write_text(body)
    graph = import_graph(tmp_path)
    assert cycles(graph) == [["rma.llm.factory", "rma.llm.router"]]
    wrong = upward_imports(graph)
    assert any("rma.text (layer 0) imports rma.llm.router" in w for w in wrong)
    assert any("rma.notes imports rma.rag" in w for w in wrong)


@pytest.mark.parametrize(
    ("module", "layer"), [("rma", 0), ("rma.llm.backends.vllm", 1), ("rma.cli", 4)]
)
def test_parts(module: str, layer: int) -> None:
    assert LAYERS[part(module)] == layer
