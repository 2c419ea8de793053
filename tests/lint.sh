#!/usr/bin/env bash
# make lint: refuses the functions docs/style.md bans (unsafe string and
# number handling), and references that leave the repository or point at
# files that do not exist (tests/lint_refs.py), and mutants whose literal
# no longer occurs exactly once (tests/mutants.ini).
set -u
cd "$(dirname "$0")/.."
rc=0
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|strncpy|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' --include='*.cc' common crypto audit consent cleanroom tests scripts 2>/dev/null | grep -v 'lint:allow')
if [ -n "$hits" ]; then
  echo "lint: banned functions used (docs/style.md):"; echo "$hits"; rc=1
fi
if ! refs=$(python3 tests/lint_refs.py); then
  echo "lint: references outside the repository or to missing files:"; echo "$refs"; rc=1
fi
if ! muts=$(python3 tests/mutate.py --check); then
  echo "lint: the mutant list no longer matches the code (tests/mutants.ini):"; echo "$muts"; rc=1
fi
[ $rc -eq 0 ] && echo "lint: ok (no banned functions; every reference resolves inside the repository; every mutant applies)"
exit $rc
