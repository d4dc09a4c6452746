#!/usr/bin/env bash
# Installs diagnose for this user into its own virtual environment and links the command into
# ~/.local/bin (as root also /usr/local/bin). Works where python3 refuses `pip install` (PEP 668).
#   bash install.sh && ~/.local/bin/diagnose
set -euo pipefail
cd "$(dirname "$0")"
source tools/env.sh

home="${XDG_DATA_HOME:-$HOME/.local/share}/broadband-diagnose"
make_venv "$home/venv"
venv_pip "$home/venv" --upgrade .
mkdir -p "$HOME/.local/bin"
ln -sf "$home/venv/bin/diagnose" "$HOME/.local/bin/diagnose"
echo "installed: $HOME/.local/bin/diagnose ($("$home/venv/bin/diagnose" --version))" >&2
