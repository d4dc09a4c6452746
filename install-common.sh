# Shared by install.sh and tests/run (sourced, not run): Debian packages and a virtual environment,
# on a stock Debian 12 / Ubuntu 24.04 whose python3 refuses `pip install` (PEP 668).

# Runs a command as root: directly when root already (no sudo needed), else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "need root for: $* (run as root, or install sudo)" >&2
    return 1
  fi
}

# Installs the Debian packages that are not installed yet (apt-get update only when needed).
apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# Makes (or reuses) a virtual environment at $1 with an up-to-date pip.
# Debian's python3 has no venv module until python3-venv is installed.
make_venv() {
  local dir="$1" python
  python="$(command -v python3 || true)"
  if [ -z "$python" ]; then
    apt_install python3
    python="$(command -v python3)"
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "diagnose needs Python 3.10 or newer; $python is $("$python" --version 2>&1)" >&2
    return 1
  fi
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  if ! "$python" -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    apt_install python3-venv
    "$python" -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
}

# pip inside a virtual environment made by make_venv.
venv_pip() {
  local dir="$1"
  shift
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
}
