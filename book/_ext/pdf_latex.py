"""Sphinx extension: the LaTeX/PDF build of this Chinese book (issue 24; run by .ci/build_pdf.sh).

sphinx-jupyterbook-latex (``latex: use_jupyterbook_latex: true``) turns the toc's part captions into
``\\part`` headings, makes the root page the front matter and brings its ``jupyterBook`` LaTeX class (which
defines the notebook cell environments). Two of its pieces do not fit a Chinese book on Debian:

* the class loads ``bbm``, which Debian ships only in the 500 MB ``texlive-fonts-extra``: the PDF build
  copies a stand-in ``book/_ext/latex/bbm.sty`` next to the .tex file (``latex_additional_files``);
* its preamble loads ``ucharclasses``, whose character-class hooks fight xeCJK's: after its
  ``config-inited`` handler this one drops that line.

Chinese is set by xeCJK (Sphinx loads it for ``language: zh_CN`` with xelatex) with the fonts named in
``_config.yml`` (``sphinx.config.latex_elements.preamble``).
"""

from __future__ import annotations

from pathlib import Path


def _fix_latex_config(app, config):
    elements = config.latex_elements
    if "preamble" in elements:
        elements["preamble"] = "\n".join(
            line for line in elements["preamble"].splitlines() if "{ucharclasses}" not in line
        )
    bbm = (Path(__file__).parent / "latex" / "bbm.sty").relative_to(Path(app.confdir)).as_posix()
    if bbm not in config.latex_additional_files:
        config.latex_additional_files = [*config.latex_additional_files, bbm]


def setup(app):
    app.connect("config-inited", _fix_latex_config, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
