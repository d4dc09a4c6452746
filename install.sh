#!/usr/bin/env bash
# Installs diagnose for this user into its own virtual environment and links the command into
# ~/.local/bin. Works where python3 refuses `pip install` (PEP 668).
#   bash install.sh && ~/.local/bin/diagnose
#   bash install.sh --server        also the operator's diagnose-server
set -euo pipefail
cd "$(dirname "$0")"
source install-common.sh

target=.
commands=(diagnose)
if [ "${1:-}" = "--server" ]; then
  target=".[server]"
  commands+=(diagnose-server)
fi
home="${XDG_DATA_HOME:-$HOME/.local/share}/broadband-diagnose"
make_venv "$home/venv"
venv_pip "$home/venv" --upgrade "$target"
mkdir -p "$HOME/.local/bin"
for command in "${commands[@]}"; do
  ln -sf "$home/venv/bin/$command" "$HOME/.local/bin/$command"
done
echo "installed: ${commands[*]} in $HOME/.local/bin ($("$home/venv/bin/diagnose" --version))" >&2
