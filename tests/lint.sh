#!/usr/bin/env bash
# Refuses the functions STYLE.md bans (unsafe string and number handling).
set -u
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|strncpy|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' common crypto audit consent cleanroom tests 2>/dev/null | grep -v 'lint:allow')
if [ -n "$hits" ]; then
  echo "lint: banned functions used (STYLE.md):"; echo "$hits"; exit 1
fi
echo "lint: ok (no banned functions)"
