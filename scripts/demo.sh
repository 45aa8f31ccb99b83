#!/usr/bin/env bash
# Sets up, builds and runs seqlab's main job on the default data: the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/bin/seqlab demo "$@"
