"""Sphinx extension for the book's HTML: serve MathJax from the book itself and drop duplicate scripts.

- MathJax: the pages load ``_static/mathjax/tex-mml-chtml.js`` (set as ``mathjax_path`` in _config.yml),
  copied here from the ``django-static-mathjax`` package (MathJax 3.2.2), so equations render with no
  network access. Only the parts the pages use are copied (the bundle, its fonts, the TeX extensions
  it may autoload, the menu and the assistive-MathML code), about 3 MB.
- Download menu: chapters are .py files, so the theme offers only the .py source; each chapter's
  executed notebook is copied next to it and offered as .ipynb too.
- Launch buttons: with ``DIFFUSION_BOOK_REPOSITORY_URL`` set to the book's GitHub repository (and
  optionally ``DIFFUSION_BOOK_REPOSITORY_BRANCH``, default main, and ``DIFFUSION_BOOK_JUPYTERHUB_URL``),
  each chapter gets a repository button and Binder (and JupyterHub) launch links that open the chapter
  as a notebook in JupyterLab. ``binder/postBuild`` creates those notebooks from the .py sources, so the
  links point at ``book/<chapter>.ipynb``. Without the variable the book has no launch buttons, because a
  launch link needs a public repository to clone.
- pydata-sphinx-theme logs "Got invalid theme mode" on every page unless a default mode is set.
- Jupyter Book 1.0.4 with Sphinx 7.4 registers sphinx-thebe's configuration script twice, which makes
  every page throw "Identifier 'THEBE_JS_URL' has already been declared"; identical scripts are
  kept once.
- Widget state: MyST-NB embeds the executed notebook's ipywidgets state in every page that made a
  widget (67 kB on chapter 3), for a widget manager that only loads from a CDN; with
  ``nb_ipywidgets_js: {}`` no manager loads, so the state is dead weight and is dropped.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
REPOSITORY_ENV = "DIFFUSION_BOOK_REPOSITORY_URL"
BRANCH_ENV = "DIFFUSION_BOOK_REPOSITORY_BRANCH"
JUPYTERHUB_ENV = "DIFFUSION_BOOK_JUPYTERHUB_URL"
BINDERHUB_URL = "https://mybinder.org"

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


WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"


def drop_widget_state(app, pagename, templatename, context, doctree):
    """Remove the embedded ipywidgets state when no widget manager is configured to read it."""
    scripts = context.get("script_files")
    if not scripts or app.config.nb_ipywidgets_js:
        return
    scripts[:] = [js for js in scripts if getattr(js, "attributes", {}).get("type") != WIDGET_STATE_TYPE]


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


def configure_launch_buttons(app, config):
    """Repository and launch buttons from the environment (see the module docstring)."""
    url = os.environ.get(REPOSITORY_ENV, "").strip().rstrip("/")
    if not url:
        LOGGER.info(f"launch buttons off: set {REPOSITORY_ENV}=https://github.com/ORG/REPO to add Binder links")
        return
    if url.endswith(".git"):
        url = url[:-4]
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ExtensionError(f"{REPOSITORY_ENV} must be a GitHub repository URL such as "
                             f"https://github.com/ORG/REPO (Binder links need one), got {url!r}")
    opts = dict(config.html_theme_options)
    opts["repository_url"] = url
    opts["repository_branch"] = os.environ.get(BRANCH_ENV, "").strip() or "main"
    opts["path_to_docs"] = ""
    opts["use_repository_button"] = True
    launch = dict(opts.get("launch_buttons") or {})
    launch["binderhub_url"] = BINDERHUB_URL
    hub = os.environ.get(JUPYTERHUB_ENV, "").strip().rstrip("/")
    if hub:
        launch["jupyterhub_url"] = hub
    opts["launch_buttons"] = launch
    config.html_theme_options = opts


def launch_notebooks(app, pagename, templatename, context, doctree):
    """Launch links of a .py chapter open its notebook, which binder/postBuild makes with jupytext."""
    if context.get("page_source_suffix") != ".py":
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if "url" in button:
                button["url"] = button["url"].replace(f"{pagename}.py", f"{pagename}.ipynb")


def setup(app):
    app.connect("config-inited", configure_launch_buttons)
    app.connect("html-page-context", launch_notebooks, priority=600)  # after the theme built the links
    app.connect("html-page-context", offer_notebook, priority=400)  # before the theme builds its buttons
    app.connect("build-finished", copy_notebooks)
    app.connect("html-page-context", set_default_mode, priority=900)
    _mathjax_source()  # fail at the start of the build, not after executing every chapter
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", drop_widget_state, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
