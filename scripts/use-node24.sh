# Sourced by .ci/run (and handy in a shell): makes Node.js 24 the first `node` on PATH. If the machine's
# Node is older, a private copy from the npm registry's `node` package is installed once under
# ~/.cache/riposte/node<version> — never globally, never from anywhere but the npm registry.
# Usage: source scripts/use-node24.sh [exact-version]
_riposte_node_version="${1:-24.21.0}"
_riposte_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
if [ "$(_riposte_major || echo 0)" -lt 24 ] 2>/dev/null || ! command -v node >/dev/null; then
  _riposte_cache="${RIPOSTE_NODE_CACHE:-$HOME/.cache/riposte}/node${_riposte_node_version}"
  if [ ! -x "$_riposte_cache/node_modules/node/bin/node" ]; then
    echo "use-node24: installing node@${_riposte_node_version} from the npm registry into $_riposte_cache" >&2
    mkdir -p "$_riposte_cache"
    (cd "$_riposte_cache" && npm install --no-save --no-audit --no-fund --no-package-lock "node@${_riposte_node_version}" >&2)
  fi
  export PATH="$_riposte_cache/node_modules/node/bin:$PATH"
fi
if [ "$(_riposte_major)" -lt 24 ]; then
  echo "use-node24: could not get Node.js 24 (have $(node --version 2>/dev/null || echo none))" >&2
  return 1 2>/dev/null || exit 1
fi
unset -f _riposte_major
unset _riposte_node_version _riposte_cache
