#!/usr/bin/env bash
# Installs the Debian packages nongxun and its tests need, when missing:
#   font  - the CJK font certificates and reports are drawn with (make run)
#   all   - font, plus what the tests drive: pdftotext/pdfinfo, zbarimg,
#           chromium, LibreOffice Calc (make test, CI)
# As root it installs what is missing; otherwise it names what is missing
# and fails, so a test run never skips a check silently.
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
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "nongxun: missing Debian packages: ${missing[*]}" >&2
  echo "install them (sudo apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
