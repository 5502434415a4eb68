"""Sphinx extension for the book's HTML: serve MathJax from the book itself and drop duplicate scripts.

- MathJax: the pages load ``_static/mathjax/tex-mml-chtml.js`` (set as ``mathjax_path`` in _config.yml),
  copied here from the ``django-static-mathjax`` package (MathJax 3.2.2), so equations render with no
  network access. Only the parts the pages use are copied (the bundle, its fonts, the TeX extensions
  it may autoload, the menu and the assistive-MathML code), about 3 MB.
- Download menu: chapters are .py files, so the theme offers only the .py source; each chapter's
  executed notebook is copied next to it and offered as .ipynb too.
- pydata-sphinx-theme logs "Got invalid theme mode" on every page unless a default mode is set.
- Jupyter Book 1.0.4 with Sphinx 7.4 registers sphinx-thebe's configuration script twice, which makes
  every page throw "Identifier 'THEBE_JS_URL' has already been declared"; identical scripts are
  kept once.
"""
from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_PARTS = ["tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y"]


def _mathjax_source() -> Path:
    try:
        import mathjax  # provided by the django-static-mathjax package
    except ImportError as exc:
        raise RuntimeError("the book needs MathJax from the 'django-static-mathjax' package: "
                           "pip install -r requirements.txt") from exc
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    src, dst = _mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        s, d = src / part, dst / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (getattr(js, "filename", str(js)) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def set_default_mode(app, pagename, templatename, context, doctree):
    """pydata-sphinx-theme logs a console error ("Got invalid theme mode") when no mode is set."""
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def offer_notebook(app, pagename, templatename, context, doctree):
    """Chapters are .py sources: also offer their executed notebook in the download menu."""
    if context.get("page_source_suffix") == ".py":
        context["ipynb_source"] = pagename + ".ipynb"


def copy_notebooks(app, exception):
    """Put each chapter's executed notebook (written by MyST-NB) beside its source in _sources/."""
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.outdir).parent / "jupyter_execute"
    for docname in app.env.found_docs:
        if not app.env.doc2path(docname).endswith(".py"):
            continue
        src = executed / (docname + ".ipynb")
        if not src.exists():
            raise RuntimeError(f"no executed notebook for {docname} at {src}")
        dst = Path(app.outdir) / "_sources" / (docname + ".ipynb")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def setup(app):
    app.connect("html-page-context", offer_notebook, priority=400)  # before the theme builds its buttons
    app.connect("build-finished", copy_notebooks)
    app.connect("html-page-context", set_default_mode, priority=900)
    _mathjax_source()  # fail at the start of the build, not after executing every chapter
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
