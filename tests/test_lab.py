"""JupyterLab on the book (README: "Opening a chapter in JupyterLab"): the set-up installs JupyterLab with
jupyterlab-myst enabled, `make lab` (like `make book` and `make test`) hands the chapters an absolute data
folder, and opening, running and saving a chapter leaves its .py source byte-identical."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.py"))
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def labextensions() -> dict[str, str]:
    """{name: the rest of its line} from `jupyter labextension list` (which also checks compatibility)."""
    out = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = ANSI.sub("", out.stdout + out.stderr).splitlines()
    return {line.split()[0]: line for line in lines if line.startswith(" ") and line.split()}


def test_jupyterlab_myst_is_installed_and_enabled():
    """jupyterlab-myst renders the chapters' MyST (admonitions, {cite}, {eq}, {doc}) in JupyterLab."""
    package = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst" / "package.json"
    assert package.exists(), "jupyterlab-myst is not installed in this environment (requirements.txt)"
    assert json.loads(package.read_text())["name"] == "jupyterlab-myst"
    found = labextensions()
    for name in ("jupyterlab-myst", "jupyterlab-jupytext"):  # jupytext's opens book/*.py as notebooks
        assert name in found, f"{name} is not a JupyterLab extension here: {sorted(found)}"
        # "enabled OK"; "X" would mean built for another JupyterLab (e.g. jupyterlab-myst 2.7 on JupyterLab 4.6)
        assert re.search(r"\benabled\s+OK\b", found[name]), f"{name}: {found[name].strip()}"


# --- the data folder: relative to where the command is typed, absolute before any kernel starts ---

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_dry_run(target: str, env_data: str | None, **variables: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DIFFUSION_BOOK_DATA"}
    if env_data is not None:
        env["DIFFUSION_BOOK_DATA"] = env_data
    args = ["make", "-n", target] + [f"{k}={v}" for k, v in variables.items()]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@needs_make
@pytest.mark.parametrize("target", ["lab", "book", "test"])
def test_make_resolves_a_relative_data_folder(target):
    absolute = ROOT.parent / "shared" / "data"
    commands = make_dry_run(target, "../shared/data", LAB_ARGS="--no-browser --port 8899")
    assert f"DIFFUSION_BOOK_DATA='{absolute}'" in commands, commands
    assert "DIFFUSION_BOOK_DATA='../" not in commands
    on_command_line = make_dry_run(target, None, DIFFUSION_BOOK_DATA="../shared/data/")
    assert f"DIFFUSION_BOOK_DATA='{absolute}'" in on_command_line, on_command_line
    assert "DIFFUSION_BOOK_DATA" not in make_dry_run(target, None)  # unset stays unset


@needs_make
def test_make_lab_opens_jupyterlab_with_extra_options():
    commands = make_dry_run("lab", "/data/mnist", LAB_ARGS="--no-browser --port 8899").splitlines()
    lab = [c for c in commands if "jupyter lab" in c]
    assert len(lab) == 1 and lab[0].startswith("DIFFUSION_BOOK_DATA='/data/mnist' ")
    assert lab[0].endswith("--no-browser --port 8899")


def test_test_script_resolves_a_relative_data_folder_from_where_it_is_run(tmp_path):
    """scripts/test.sh run directly (not through make), from another folder than the repository's."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "book").mkdir()
    shutil.copy(ROOT / "scripts" / "test.sh", repo / "scripts" / "test.sh")
    (repo / "book" / "x.py").write_text("# %%\n1\n")
    fake_python = tmp_path / "python"  # records the variable instead of running jupytext and pytest
    fake_python.write_text(f'#!/bin/sh\necho "$DIFFUSION_BOOK_DATA" >> {tmp_path / "seen"}\n')
    fake_python.chmod(0o755)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    for given, expected in (("../shared/data", tmp_path / "shared" / "data"), ("../missing/", tmp_path / "missing")):
        (tmp_path / "seen").unlink(missing_ok=True)
        env = {**os.environ, "PY": str(fake_python), "DIFFUSION_BOOK_DATA": given}
        subprocess.run(["bash", str(repo / "scripts" / "test.sh")], cwd=tmp_path / "elsewhere", env=env, check=True,
                       capture_output=True, timeout=60)
        seen = set((tmp_path / "seen").read_text().split())
        assert len(seen) == 1 and os.path.isabs(seen.pop()), (given, seen)
        assert {os.path.normpath(s) for s in (tmp_path / "seen").read_text().split()} == {str(expected)}


# --- opening and saving a chapter in JupyterLab leaves its .py unchanged ---

def jupyterlab_edits(nb, display_name: str) -> None:
    """What JupyterLab does to a notebook it opens and runs, with no edit by the reader."""
    nb.metadata["kernelspec"] = {"display_name": display_name, "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
        "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3",
        "version": ".".join(map(str, sys.version_info[:3]))}
    nb.metadata.setdefault("jupytext", {}).setdefault("text_representation", {}).update(
        format_version="1.3", jupytext_version="1.0.0")
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                          "version_minor": 0}}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i + 1
            cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
            cell.metadata.update({"trusted": True, "scrolled": True, "collapsed": False, "execution": {
                "iopub.execute_input": "2026-01-01T00:00:00.000000Z", "shell.execute_reply": "2026-01-01T00:00:01Z"}})
        if i == 1:  # the reader folds a cell and a heading: UI state, not an edit
            cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
            cell.metadata["jp-MarkdownHeadingCollapsed"] = True


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_opening_and_saving_a_chapter_in_jupyterlab_leaves_the_py_unchanged(chapter, tmp_path):
    """Through jupytext's contents manager (what JupyterLab uses), in a copy of the repository's layout so
    that jupytext.toml applies; saved twice, the second time from the paired .ipynb the first save wrote."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupytext import TextFileContentsManager

    # JupyterLab writes the display name of the kernel it runs: this environment's python3 kernel.
    display_name = KernelSpecManager().get_kernel_spec("python3").display_name
    original = chapter.read_bytes()
    header = original.decode().split("# ---\n")[1]
    assert f"#     display_name: {display_name}\n" in header, (
        f"JupyterLab here would write the kernel display name {display_name!r} into {chapter.name}; `make setup` "
        "installs the python3 kernel as 'Python 3' (ipykernel install --sys-prefix --display-name)")
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    path = f"book/{chapter.name}"
    (tmp_path / path).write_bytes(original)
    cm = TextFileContentsManager(root_dir=str(tmp_path))
    for attempt in ("first save", "second save, from the paired .ipynb"):
        model = cm.get(path)
        jupyterlab_edits(model["content"], display_name)
        cm.save(model, path)
        assert (tmp_path / "book" / (chapter.stem + ".ipynb")).exists(), "jupytext.toml pairs the .py with an .ipynb"
        saved = (tmp_path / path).read_bytes()
        if saved != original:
            import difflib
            diff = "".join(difflib.unified_diff(original.decode().splitlines(True), saved.decode().splitlines(True),
                                                f"{path} (source)", f"{path} ({attempt})", n=1))
            pytest.fail(f"opening and saving {chapter.name} in JupyterLab changes it ({attempt}):\n{diff}")
