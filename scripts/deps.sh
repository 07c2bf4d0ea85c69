#!/usr/bin/env bash
# Installs the Debian packages nongxun needs, when they are missing:
#   font  - the CJK font certificates and reports are drawn with (make run)
#   all   - font, plus pdftotext/pdfinfo, zbarimg, chromium and LibreOffice Calc
#           (the sheets tests open exports in it) for the tests (CI)
set -euo pipefail
want=(fonts-lxgw-wenkai)
if [ "${1:-all}" = all ]; then
  want+=(poppler-utils zbar-tools chromium libreoffice-calc-nogui)
fi
missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
