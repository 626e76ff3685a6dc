# Shared set-up steps for scripts/up.sh and scripts/test.sh. Every step is idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1;34m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "Need root (or sudo) to run: $*" >&2; return 1; fi
}

APT_UPDATED=0
apt_install() {
  # Install the Debian packages that are missing; skip apt entirely when all are present.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Please install these packages with your system's package manager: ${missing[*]}" >&2; return 1
  fi
  say "Installing Debian packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  # $1: pip extra to install ("" for the product, "test" for the test tools).
  local extra="${1:-}" py stamp want
  if ! py="$(find_python)"; then
    apt_install python3 python3-venv python3-pip
    py="$(find_python)" || { echo "Python 3.11 or newer is required" >&2; exit 1; }
  fi
  # A venv without pip (an interrupted first run) is rebuilt rather than trusted.
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    say "Creating virtual environment in .venv"
    "$py" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$py" -m venv "$VENV"; }
  fi
  stamp="$VENV/.kefu-installed-${extra:-base}"
  want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "Installing Python packages${extra:+ ($extra)}"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    if [ -n "$extra" ]; then "$VENV/bin/pip" install -q -e ".[$extra]"; else "$VENV/bin/pip" install -q -e .; fi
    echo "$want" > "$stamp"
  fi
  "$VENV/bin/kefu" i18n_compile >/dev/null
}
