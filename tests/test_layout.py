"""The library's shape: no import cycle between its modules (imports inside functions included), and
every documented command line reachable as ``python -m lib.<command>``."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "lib"
COMMANDS = ("train", "sample", "info", "bench", "metrics", "classifier", "compare_precision", "feature_compare",
            "restore", "score_epochs", "sweep_samplers", "sweep_guidance")


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every lib module that ``path`` imports, anywhere in the file except under ``if __name__ ==
    "__main__":`` (an entry point may call its command)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [stem] + [f"{stem}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target != "lib":
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(LIB.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_lib_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_concept_modules_do_not_import_the_command_lines():
    graph = import_graph()
    for module, deps in graph.items():
        if not module.startswith("lib.cli") and module.count(".") == 1:
            cli_deps = {d for d in deps if d.startswith("lib.cli.")}
            entry_point = all(d.startswith("lib.cli") for d in deps)  # lib/train.py etc.
            assert not cli_deps or entry_point, f"{module} imports {sorted(cli_deps)}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command):
    r = subprocess.run([sys.executable, "-m", f"lib.{command}", "--help"], capture_output=True, text=True,
                       cwd=LIB.parent, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"python -m lib.{command}" in r.stdout
