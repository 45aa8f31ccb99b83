#!/bin/bash
# Checks that every C++ file of the repository is formatted by the committed .clang-format
# (clang-format 14, Debian 12's; scripts/setup.sh installs it). Run by CTest ("format: ...").
# To fix: git ls-files '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format > /dev/null; then
  echo "check-format: clang-format is not installed (bash scripts/setup.sh installs it)" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find core tokenizers data models eval train bench runner apps tests fuzz \
                         -name '*.cpp' -o -name '*.h')
fi
if [ "${#files[@]}" -lt 200 ]; then
  echo "check-format: found only ${#files[@]} C++ files; is this the repository?" >&2
  exit 1
fi
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted as .clang-format says"
