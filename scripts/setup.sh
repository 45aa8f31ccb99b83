#!/usr/bin/env bash
# Installs everything seqlab needs from Debian packages. Idempotent: a second run installs nothing.
# Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache  # toolchain
  clang-format           # the format check among the tests (scripts/check-format.sh)
  libtorch-dev           # LibTorch 1.13 (CPU): tensors, autograd, modules
  libgloo-dev            # Gloo's headers, which LibTorch's c10d ProcessGroupGloo needs (data-parallel training)
  libopenblas0-openmp    # fast BLAS for LibTorch (the reference libblas is ~50x slower)
  libdnnl-dev            # oneDNN's header: seqlab runs its matrix products on oneDNN's sgemm (AVX-512 where the CPU has it)
  libblas-dev            # cblas.h: the ridge fitter calls dsyrk directly (float64 X^T X)
  libsentencepiece-dev   # BPE / unigram subword tokenizers (loaded in an isolated module)
  nlohmann-json3-dev     # configs, tokenizer files, JSON output
  libfmt-dev             # formatting
  libcli11-dev           # command-line parsing
  catch2                 # tests
  libbenchmark-dev       # `seqlab bench`
  libpng-dev             # PNG images (captioning), libpng's simplified API
  libturbojpeg0-dev      # JPEG images (captioning), TurboJPEG
  libstb-dev             # image resizing and writing, font rendering for pictures
  libsmf-dev             # MIDI files (music recipe, seqlab generate)
  libsqlite3-dev         # experiment results store
  libssl-dev             # SHA-256/512 of downloaded packages, checked against their published hashes
  gnuplot-nox            # `seqlab report`: learning curves, bar charts, heatmaps (cairo PNG terminal)
  fonts-dejavu-core      # a real font for every picture's labels (accents, umlauts: stb_truetype, gnuplot)
  chromium               # the report test opens report.html in a headless browser
  python3-torch          # `seqlab bench compare`: the same models in Python PyTorch (same libtorch 1.13)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# `apt-get download` (used by `seqlab data prepare`) needs package lists too.
lists_empty=true
if compgen -G "/var/lib/apt/lists/*_Packages*" > /dev/null; then lists_empty=false; fi

if [ ${#missing[@]} -gt 0 ] || $lists_empty; then
  echo "setup: apt-get update" >&2
  "${sudo_cmd[@]}" apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# npm fetches the packages of the emoji recipe (`seqlab data prepare emoji`); NodeSource's nodejs
# ships its own npm, Debian's comes as a package.
if ! command -v npm > /dev/null; then
  echo "setup: installing npm" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2
fi

# LibTorch links libblas.so.3; make sure the alternative points at OpenBLAS.
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
if [ -e "$openblas" ] && [ "$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" != "$openblas" ]; then
  "${sudo_cmd[@]}" update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas" >&2
fi
echo "setup: dependencies ready" >&2
