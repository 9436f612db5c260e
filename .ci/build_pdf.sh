#!/usr/bin/env bash
# The book as one PDF: _build/latex/makemore-zh.pdf (Jupyter Book 1's pdflatex builder: Sphinx LaTeX, xelatex,
# xeCJK with the Noto CJK fonts). Run from the repository root, in the activated virtual environment:
#
#     bash .ci/build_pdf.sh
#
# First it checks that every program, TeX package and font the build needs is installed, and names the Debian
# package for each one that is missing (install them all at once with the apt-get line it prints). Then it
# builds (Sphinx warnings are errors, as for the site); any LaTeX error, or a character that no font has
# (it would print as an empty box), fails with a non-zero exit code and the lines of the log that say why.
set -euo pipefail
cd "$(dirname "$0")/.."
PDF=_build/latex/makemore-zh.pdf
LOG=_build/latex/makemore-zh.log

# what the build needs -> the Debian package that provides it
PROGRAMS="xelatex:texlive-xetex latexmk:latexmk make:make"
TEXFILES="xeCJK.sty:texlive-lang-cjk ctexhook.sty:texlive-lang-chinese fncychap.sty:texlive-latex-extra
  pgfplots.sty:texlive-pictures unicode-math.sty:texlive-latex-recommended rsfs10.tfm:texlive-fonts-recommended"
FONTS="Noto Serif CJK SC:fonts-noto-cjk|Noto Sans CJK SC:fonts-noto-cjk|Noto Sans Mono CJK SC:fonts-noto-cjk|FreeSerif:fonts-freefont-otf|Latin Modern Math:fonts-lmodern"

missing=()
for entry in $PROGRAMS; do
  command -v "${entry%%:*}" >/dev/null || missing+=("${entry##*:} (the program ${entry%%:*})")
done
if command -v kpsewhich >/dev/null; then
  for entry in $TEXFILES; do
    [ -n "$(kpsewhich "${entry%%:*}")" ] || missing+=("${entry##*:} (the TeX file ${entry%%:*})")
  done
fi
IFS='|' read -r -a fonts <<< "$FONTS"
for entry in "${fonts[@]}"; do
  fc-list ":family=${entry%%:*}" family 2>/dev/null | grep -q . || missing+=("${entry##*:} (the font ${entry%%:*})")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build_pdf: cannot build the PDF, missing Debian packages:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  pkgs=$(printf '%s\n' "${missing[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
  echo "install them with: apt-get install --no-install-recommends ${pkgs}" >&2
  exit 2
fi
command -v jupyter-book >/dev/null || { echo "build_pdf: jupyter-book not found: activate the virtual environment (. .venv/bin/activate)" >&2; exit 2; }

t0=$(date +%s)
rm -f "$PDF"
mkdir -p _build
if ! jupyter-book build . --builder pdflatex -W -n --keep-going > _build/pdf-build.log 2>&1; then
  echo "build_pdf: the PDF build failed; the end of _build/pdf-build.log:" >&2
  tail -n 40 _build/pdf-build.log >&2
  [ -f "$LOG" ] && { echo "--- LaTeX errors in $LOG:" >&2; grep -n -A4 '^!' "$LOG" | head -n 40 >&2 || true; }
  exit 1
fi
[ -s "$PDF" ] || { echo "build_pdf: no $PDF after the build" >&2; exit 1; }
if grep -q "Missing character" "$LOG"; then
  echo "build_pdf: characters that no font has (they print as empty boxes):" >&2
  grep "Missing character" "$LOG" | sort | uniq -c | head -n 20 >&2
  exit 1
fi
echo "build_pdf: $PDF ($(( $(stat -c %s "$PDF") / 1024 )) KiB) in $(( $(date +%s) - t0 )) s"
