"""The `mcp-server-tavus` command: serve MCP over stdio (the default), run the demo, or serve the sandbox API."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from tavus_mcp import __version__
from tavus_mcp.config import ConfigError, Settings, parse_count, parse_timeout
from tavus_mcp.logs import LEVELS, configure_logging

logger = logging.getLogger("tavus_mcp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-tavus",
        description=(
            "MCP server for Tavus conversational video. With no command it serves MCP over stdio, which is what "
            "Claude Desktop and other MCP clients run. Settings come from TAVUS_* environment variables; the "
            "flags below override them. The API key is read only from TAVUS_API_KEY, never from a flag, so it "
            "does not show in process listings."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve against the embedded Tavus emulator: no key, no network, nothing charged",
    )
    parser.add_argument("--api-base-url", metavar="URL", help="Tavus API base URL (TAVUS_API_BASE_URL)")
    parser.add_argument(
        "--default-replica-id", metavar="ID", help="replica used when a call gives neither replica nor persona"
    )
    parser.add_argument(
        "--default-persona-id", metavar="ID", help="persona used when a call gives neither replica nor persona"
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="longest a tool call waits for Tavus, retries included (TAVUS_TIMEOUT, default 30)",
    )
    parser.add_argument(
        "--connect-timeout", metavar="SECONDS", help="longest wait for a connection (TAVUS_CONNECT_TIMEOUT, default 10)"
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="create every conversation in test mode: nobody joins, nothing is charged (TAVUS_TEST_MODE=1)",
    )
    parser.add_argument(
        "--max-call-duration",
        metavar="SECONDS",
        help="cap on properties.max_call_duration, given to calls that set none (TAVUS_MAX_CALL_DURATION)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="level of the log lines written to stderr (TAVUS_LOG_LEVEL, default INFO)",
    )
    http = parser.add_argument_group(
        "Streamable HTTP",
        "Bearer tokens are read only from TAVUS_MCP_AUTH_TOKENS (comma-separated), never from a flag; listening "
        "beyond loopback requires one, or a file of users in TAVUS_MCP_USERS_FILE (each with their own sign-in and "
        "Tavus key; SIGHUP reloads it), optionally signing in through OAuth (TAVUS_MCP_OAUTH_ISSUER, "
        "TAVUS_MCP_OAUTH_AUDIENCE). See docs/team.md.",
    )
    http.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="serve MCP over stdio (the default) or Streamable HTTP at /mcp",
    )
    http.add_argument(
        "--host", dest="http_host", metavar="HOST", help="address to listen on (TAVUS_MCP_HOST, default 127.0.0.1)"
    )
    http.add_argument(
        "--port", dest="http_port", metavar="PORT", help="port to listen on (TAVUS_MCP_PORT, default 8000)"
    )
    http.add_argument(
        "--allowed-hosts",
        metavar="LIST",
        help="comma-separated Host header values to accept besides localhost, such as mcp.example.com "
        "(TAVUS_MCP_ALLOWED_HOSTS)",
    )
    http.add_argument(
        "--allowed-origins",
        metavar="LIST",
        help="comma-separated browser origins to accept, such as https://app.example.com (TAVUS_MCP_ALLOWED_ORIGINS)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve MCP over stdio (the default)")
    commands.add_parser(
        "demo",
        help="run this server over stdio against its embedded Tavus sandbox, as a real MCP client would, and create "
        "a conversation",
    )
    commands.add_parser(
        "check",
        help="call Tavus once with the configured key and say whether it works (exit 0) or what is wrong (exit 1)",
    )
    commands.add_parser(
        "check-users",
        help="read TAVUS_MCP_USERS_FILE as a team server would (keys from this environment) and list its users "
        "(exit 0), or say what is wrong (exit 2): run it before a reload",
    )
    sandbox_api = commands.add_parser(
        "sandbox-api", help="serve the Tavus API emulator over HTTP, to point TAVUS_API_BASE_URL at"
    )
    sandbox_api.add_argument("--host", default="127.0.0.1")
    sandbox_api.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # `check` speaks to a person on the terminal: only warnings, unless asked for more.
    default_level = "WARNING" if args.command == "check" else "INFO"
    level = (args.log_level or os.environ.get("TAVUS_LOG_LEVEL", "") or default_level).upper()
    if level not in LEVELS:
        _fail(f"TAVUS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got {level!r}")
    configure_logging(level)

    if args.command == "demo":
        from tavus_mcp.demo import run_demo

        sys.exit(run_demo())
    if args.command == "sandbox-api":
        from tavus_mcp.sandbox import serve_forever

        serve_forever(host=args.host, port=args.port)
        return

    try:
        settings = Settings.from_env(
            os.environ,
            base_url=args.api_base_url,
            default_replica_id=args.default_replica_id,
            default_persona_id=args.default_persona_id,
            timeout=parse_timeout(args.timeout, "--timeout") if args.timeout is not None else None,
            connect_timeout=(
                parse_timeout(args.connect_timeout, "--connect-timeout") if args.connect_timeout is not None else None
            ),
            force_test_mode=args.test_mode or None,
            max_call_duration=(
                parse_count(args.max_call_duration, "--max-call-duration", low=1, high=86_400)
                if args.max_call_duration is not None
                else None
            ),
            sandbox=args.sandbox or None,
        )
        from tavus_mcp.client import check_proxy_environment

        check_proxy_environment(os.environ)
    except ConfigError as exc:
        _fail(str(exc))

    if args.command == "check-users":
        _check_users(settings)
    if args.command == "check":
        from tavus_mcp.check import run_check

        sys.exit(run_check(settings))

    from tavus_mcp.server import build_server

    if args.transport == "http":
        from tavus_mcp.http import HttpSettings, load_users, serve_http

        try:
            http_settings = HttpSettings.from_env(
                os.environ,
                host=args.http_host,
                port=parse_count(args.http_port, "--port", low=0, high=65535) if args.http_port is not None else None,
                allowed_hosts=args.allowed_hosts,
                allowed_origins=args.allowed_origins,
            )
            users = load_users(settings, http_settings, os.environ)
        except ConfigError as exc:
            _fail(str(exc))
        if users is None:
            _log_where_calls_go(settings)
        code = serve_http(settings, http_settings, users=users)
        if code:
            sys.exit(code)
        return
    _log_where_calls_go(settings)
    server = build_server(settings)
    with contextlib.suppress(KeyboardInterrupt):
        server.run("stdio")


def _check_users(settings: Settings) -> None:
    from tavus_mcp.users import ENV_USERS_FILE, load_users

    path = os.environ.get(ENV_USERS_FILE, "").strip()
    if not path:
        _fail(f"{ENV_USERS_FILE} is not set: set it to the users file to check (see docs/team.md)")
    try:
        users = load_users(path, os.environ, server_key_set=settings.api_key is not None or settings.sandbox)
    except ConfigError as exc:
        _fail(str(exc))
    print(f"{path}: {len(users)} users")
    for user in users.users:
        sign_in = [
            what
            for what, given in (("token", user.token_digest), ("subject", user.subject), ("email", user.email))
            if given is not None
        ]
        limits = [f"test_mode={str(user.test_mode).lower()}"]
        if user.max_call_duration is not None:
            limits.append(f"max_call_duration={user.max_call_duration}")
        print(f"{user.name}: signs in by {' or '.join(sign_in)}; key from {user.key_variable}; {', '.join(limits)}")
    sys.exit(0)


def _log_where_calls_go(settings: Settings) -> None:
    if settings.sandbox:
        logger.info("serving against the embedded Tavus sandbox: nothing reaches Tavus, nothing is charged")
    elif settings.api_key is None:
        logger.warning(
            "TAVUS_API_KEY is not set: the tools are listed, but every call answers with an error saying how to set "
            "it. Use --sandbox to try the server without a key."
        )


def _fail(message: str) -> None:
    print(f"mcp-server-tavus: {message}", file=sys.stderr)
    sys.exit(2)
