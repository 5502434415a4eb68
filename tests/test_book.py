"""The book's sources: every chapter is a valid py:percent file listed in the table of contents,
and no committed .ipynb has drifted from its .py source."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.py"))


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for entry in toc.get("chapters", []):
        files.append(entry["file"])
    return files


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    for ch in CHAPTERS:
        assert f"book/{ch.stem}" in listed, f"{ch.name} is not in _toc.yml"
    for f in listed:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".py", ".ipynb")), f"_toc.yml names missing {f}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_py_percent_and_round_trips(chapter):
    text = chapter.read_text()
    nb = jupytext.reads(text, fmt="py:percent")
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown" and nb.cells[0].source.startswith("# "), "a chapter opens with its title"
    assert "code" in kinds
    again = jupytext.reads(jupytext.writes(nb, fmt="ipynb"), fmt="ipynb")
    assert [(c.cell_type, c.source) for c in again.cells] == [(c.cell_type, c.source) for c in nb.cells]
    for cell in nb.cells:  # the book never installs packages from a notebook
        assert "%pip" not in cell.source and "!pip" not in cell.source


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_text_survives_a_save_through_jupytext(chapter, tmp_path):
    """.py -> .ipynb -> .py with the repository's jupytext.toml (as JupyterLab saves a paired chapter)
    gives back the same text: cell metadata in jupytext's key order (mystnb before tags), no version
    stamps, so opening and saving a chapter leaves the tracked .py as it was."""
    nb, py = tmp_path / f"{chapter.stem}.ipynb", tmp_path / f"{chapter.stem}.py"
    for src, dst, fmt in ((chapter, nb, "ipynb"), (nb, py, "py:percent")):
        subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", fmt, "--output", str(dst), str(src)],
                       cwd=ROOT, check=True)
    assert py.read_text() == chapter.read_text()


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_committed_notebooks_match_their_sources():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for rel in tracked:
        ipynb = ROOT / rel
        source = ipynb.with_suffix(".py")
        assert source.exists(), f"{rel} has no py:percent source"
        a = jupytext.read(ipynb)
        b = jupytext.reads(source.read_text(), fmt="py:percent")
        assert [c.source for c in a.cells] == [c.source for c in b.cells], f"{rel} has drifted from {source.name}"


def test_binder_post_build_writes_the_notebooks_the_launch_links_open(tmp_path):
    """binder/postBuild makes book/X.ipynb from every chapter; the launch links point there."""
    post_build = (ROOT / "binder" / "postBuild").read_text()
    notebook_line = next(line for line in post_build.splitlines() if line.startswith("jupytext "))
    assert (ROOT / "binder" / "requirements.txt").read_text().strip() == "-r ../requirements.txt"
    shutil.copytree(ROOT / "book", tmp_path / "book")
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    jupytext_bin = Path(sys.executable).parent / "jupytext"
    subprocess.run(["bash", "-c", notebook_line.split("#")[0]], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PATH": f"{jupytext_bin.parent}{os.pathsep}{os.environ['PATH']}"})
    for chapter in CHAPTERS:
        nb = tmp_path / "book" / (chapter.stem + ".ipynb")
        assert nb.exists(), f"postBuild did not write {nb.name}"
        assert jupytext.read(nb).cells[0].source == jupytext.read(chapter).cells[0].source


def test_launch_buttons_come_from_the_repository_url(monkeypatch):
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import book_assets
    finally:
        sys.path.pop(0)
    from sphinx.errors import ExtensionError

    class Config:
        html_theme_options = {"launch_buttons": {"notebook_interface": "jupyterlab"}}

    monkeypatch.delenv(book_assets.REPOSITORY_ENV, raising=False)
    book_assets.configure_launch_buttons(None, Config)
    assert "repository_url" not in Config.html_theme_options  # no repository: no launch buttons
    monkeypatch.setenv(book_assets.REPOSITORY_ENV, "https://github.com/org/book.git")
    monkeypatch.setenv(book_assets.BRANCH_ENV, "pages")
    book_assets.configure_launch_buttons(None, Config)
    opts = Config.html_theme_options
    assert opts["repository_url"] == "https://github.com/org/book" and opts["repository_branch"] == "pages"
    assert opts["launch_buttons"] == {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org"}
    monkeypatch.setenv(book_assets.REPOSITORY_ENV, "https://example.org/org/book")
    with pytest.raises(ExtensionError, match="must be a GitHub repository URL"):
        book_assets.configure_launch_buttons(None, Config)


def test_widget_state_is_dropped_when_no_widget_manager_loads():
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import book_assets
    finally:
        sys.path.pop(0)
    from types import SimpleNamespace

    state = SimpleNamespace(filename=None, attributes={"type": book_assets.WIDGET_STATE_TYPE, "body": "{}"})
    other = SimpleNamespace(filename="_static/x.js", attributes={})
    for js_config, kept in (({}, [other]), ({"https://cdn/embed.js": {}}, [state, other])):
        app = SimpleNamespace(config=SimpleNamespace(nb_ipywidgets_js=js_config))
        context = {"script_files": [state, other]}
        book_assets.drop_widget_state(app, "page", "page.html", context, None)
        assert context["script_files"] == kept
