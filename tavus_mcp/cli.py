"""The `mcp-server-tavus` command: serve MCP over stdio (the default), run the demo, or serve the sandbox API."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from tavus_mcp import __version__
from tavus_mcp.config import (
    DEFAULT_CONNECT_TIMEOUT,
    EXIT_BAD_SETTING,
    EXIT_CANNOT_LISTEN,
    KEY_HELP,
    ConfigError,
    Settings,
    doc_url,
    parse_count,
    parse_timeout,
    parse_toolsets,
)
from tavus_mcp.logs import LEVELS, configure_logging

logger = logging.getLogger("tavus_mcp")


def _table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """An epilog's table (environment variables, exit statuses), wrapped to 79 columns; a URL is never split."""
    indent = 2 + max(len(name) for name, _ in rows) + 2
    lines = [title]
    for name, text in rows:
        wrapped = textwrap.wrap(text, width=79 - indent, break_on_hyphens=False, break_long_words=False)
        lines.append(f"  {name:<{indent - 2}}{wrapped[0]}")
        lines.extend(f"{'':{indent}}{line}" for line in wrapped[1:])
    return "\n".join(lines)


ENVIRONMENT = _table(
    "environment (a flag overrides its variable):",
    [
        (
            "TAVUS_API_KEY",
            "your Tavus API key, read only from the environment (never from a flag, so it does not show in process "
            "listings). Create one in the Tavus developer portal, https://platform.tavus.io (API Key, in the "
            "sidebar). Without it every call says how to set it (no default)",
        ),
        ("TAVUS_API_BASE_URL", "--api-base-url: base URL of the Tavus API (default https://tavusapi.com)"),
        (
            "TAVUS_DEFAULT_REPLICA_ID",
            "--default-replica-id: replica for a call that gives neither replica_id nor persona_id (no default)",
        ),
        (
            "TAVUS_DEFAULT_PERSONA_ID",
            "--default-persona-id: persona for a call that gives neither replica_id nor persona_id (no default)",
        ),
        ("TAVUS_TIMEOUT", "--timeout: seconds a tool call waits for Tavus at most, retries included (default 30)"),
        ("TAVUS_CONNECT_TIMEOUT", "--connect-timeout: seconds to wait for a connection to Tavus (default 10)"),
        ("TAVUS_MAX_RETRIES", "further attempts for a request that is safe to repeat, 0 to 10 (default 2)"),
        (
            "TAVUS_TEST_MODE",
            "--test-mode: 1 creates every conversation in test mode (nobody joins, nothing is charged), 0 does not "
            "(default 0)",
        ),
        (
            "TAVUS_MAX_CALL_DURATION",
            "--max-call-duration: a cap in seconds on properties.max_call_duration, given to calls that set none "
            "(no default)",
        ),
        (
            "TAVUS_TOOLSETS",
            "--toolsets: the tools offered, by group: conversations, personas, knowledge, objectives, guardrails; all; "
            "or default (the first three) plus more, such as default,objectives (default default)",
        ),
        (
            "TAVUS_CONFIRM_BILLED",
            "ask: a client that can show forms asks the person before a billed call or a hard delete; never: no "
            "question, for agents that run unattended (default ask)",
        ),
        (
            "TAVUS_PASSTHROUGH_FIELDS",
            "fields Tavus added after this release, sent as given: properties.new_flag,new_top_field, name.* or * "
            "(no default)",
        ),
        ("TAVUS_POLL_INTERVAL", "seconds between wait_for_conversation's requests (default 5; 0.5 in the sandbox)"),
        (
            "TAVUS_SANDBOX",
            "--sandbox: 1 serves against the built-in Tavus emulator (no key, no network, nothing charged), 0 "
            "against Tavus (default 0)",
        ),
        (
            "TAVUS_SANDBOX_CALL_SECONDS",
            "seconds a sandbox call takes to play through, from creation to transcript; 0 keeps calls active until "
            "ended (default 6)",
        ),
        (
            "TAVUS_SANDBOX_DOCUMENT_SECONDS",
            "seconds a sandbox document takes to be ready; 0 makes it ready at once (default 3)",
        ),
        ("TAVUS_LOG_LEVEL", "--log-level: DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO; WARNING for check)"),
    ],
)

HTTP_ENVIRONMENT = _table(
    "environment for --transport http (a flag overrides its variable):",
    [
        (
            "TAVUS_MCP_AUTH_TOKENS",
            "comma-separated bearer tokens that clients send, read only from the environment; required to listen "
            "beyond loopback or with allowed hosts or origins (no default)",
        ),
        (
            "TAVUS_MCP_USERS_FILE",
            f"a TOML file of users, each with their own sign-in and Tavus key, in place of shared tokens; SIGHUP "
            f"reloads it (no default; {doc_url('docs/team.md#the-users-file')})",
        ),
        ("TAVUS_MCP_OAUTH_ISSUER", "sign users in through this OAuth issuer, with a users file (no default)"),
        (
            "TAVUS_MCP_OAUTH_AUDIENCE",
            "the audience the issuer's access tokens must name: this server's URL (no default)",
        ),
        ("TAVUS_MCP_HOST", "--host: address to listen on (default 127.0.0.1)"),
        ("TAVUS_MCP_PORT", "--port: port to listen on (default 8000)"),
        ("TAVUS_MCP_ALLOWED_HOSTS", "--allowed-hosts (no default)"),
        ("TAVUS_MCP_ALLOWED_ORIGINS", "--allowed-origins (no default)"),
        ("TAVUS_MCP_MAX_BODY_BYTES", "larger requests get 413 (default 1048576)"),
        ("TAVUS_MCP_SHUTDOWN_TIMEOUT", "seconds calls in flight may take to finish after SIGTERM (default 30)"),
        (
            "TAVUS_MCP_REQUEST_TIMEOUT",
            "seconds a connection has to send a complete request, 1 to 300 (default 10)",
        ),
        (
            "TAVUS_MCP_KEEPALIVE",
            "longest silence, in seconds, of a streamed answer; keep it below any proxy's read timeout (default 10)",
        ),
        (
            "TAVUS_MCP_SESSIONS",
            "1: sessions for 2025-11-25 clients, so that they are asked before spending; replicas then need "
            "proxy affinity. 0: none (default 1)",
        ),
    ],
)

# The exit statuses of each command, as they are (tests/test_cli.py checks each against what the command does).
EXIT_SERVE = (
    ("0", "stopped: the client closed stdin, or SIGTERM or Ctrl+C after a graceful stop"),
    (str(EXIT_BAD_SETTING), "a setting or a flag it cannot use; one line names it"),
    (str(EXIT_CANNOT_LISTEN), "--transport http cannot listen (the port is in use, the address is not this machine's)"),
)
EXIT_CHECK = (
    ("0", "Tavus accepted the key (or, with --sandbox, the installation works)"),
    ("1", "Tavus is not usable: no key, the key refused, Tavus unreachable"),
    (str(EXIT_BAD_SETTING), "a setting or a flag it cannot use; one line names it"),
)
EXIT_CHECK_USERS = (
    ("0", "the users file is usable"),
    (str(EXIT_BAD_SETTING), "it is not (one line names the entry), or a setting or a flag it cannot use"),
)
EXIT_DEMO = (
    ("0", "the demo ran through"),
    ("1", "it failed; one line says why"),
    (str(EXIT_BAD_SETTING), "a setting or a flag it cannot use; one line names it"),
)
EXIT_SANDBOX_API = (
    ("0", "stopped by Ctrl+C or SIGTERM"),
    (str(EXIT_BAD_SETTING), "a setting or a flag it cannot use; one line names it"),
    (str(EXIT_CANNOT_LISTEN), "it cannot listen (the port is in use, the address is not this machine's)"),
)
DOCUMENTATION = f"documentation: {doc_url('README.md')}"


def _epilog(*tables: str, codes: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join([*tables, _table("exit status:", codes), DOCUMENTATION])


SERVE_DESCRIPTION = (
    "Serve MCP over stdio (the default, also what the command does with no COMMAND), or over Streamable HTTP at "
    "/mcp with --transport http. Over stdio it waits for an MCP client such as Claude Desktop, which starts it: "
    "stdout carries only MCP messages, logs go to stderr. Settings come from TAVUS_* environment variables; the "
    "flags override them."
)


SERVE_SANDBOX = "serve against the embedded Tavus emulator: no key, no network, nothing charged (TAVUS_SANDBOX=1)"


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal, and keeps the epilog's tables (`_table`) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        first, _, rest = text.partition("\n")
        if first.endswith(":") and rest.startswith("  "):
            return text
        return super()._fill_text(text, width, indent)


def _add_settings(parser: argparse.ArgumentParser, *, suppress: bool, sandbox_help: str = SERVE_SANDBOX) -> None:
    """The Tavus settings' flags. On a subcommand they default to SUPPRESS, so they override only when given there:
    `mcp-server-tavus --sandbox check` and `mcp-server-tavus check --sandbox` mean the same."""
    none: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=sandbox_help,
    )
    parser.add_argument("--api-base-url", metavar="URL", default=none, help="Tavus API base URL (TAVUS_API_BASE_URL)")
    parser.add_argument(
        "--default-replica-id",
        metavar="ID",
        default=none,
        help="replica used when a call gives neither replica nor persona (TAVUS_DEFAULT_REPLICA_ID)",
    )
    parser.add_argument(
        "--default-persona-id",
        metavar="ID",
        default=none,
        help="persona used when a call gives neither replica nor persona (TAVUS_DEFAULT_PERSONA_ID)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=none,
        help="longest a tool call waits for Tavus, retries included (TAVUS_TIMEOUT, default 30)",
    )
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        default=none,
        help="longest wait for a connection (TAVUS_CONNECT_TIMEOUT, default 10)",
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="create every conversation in test mode: nobody joins, nothing is charged (TAVUS_TEST_MODE=1)",
    )
    parser.add_argument(
        "--max-call-duration",
        metavar="SECONDS",
        default=none,
        help="cap on properties.max_call_duration, given to calls that set none (TAVUS_MAX_CALL_DURATION)",
    )
    parser.add_argument(
        "--toolsets",
        metavar="LIST",
        default=none,
        help="the tools to offer, by group: conversations, personas, knowledge, objectives, guardrails, all, or "
        "default plus more, such as default,objectives (TAVUS_TOOLSETS, default conversations,personas,knowledge)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        default=none,
        help="level of the log lines written to stderr (TAVUS_LOG_LEVEL, default INFO)",
    )


def _add_http(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The Streamable HTTP flags, on the top level and on `serve` (see `_add_settings` for `suppress`)."""
    none: Any = argparse.SUPPRESS if suppress else None
    http = parser.add_argument_group(
        "Streamable HTTP",
        "Bearer tokens are read only from TAVUS_MCP_AUTH_TOKENS (comma-separated), never from a flag; listening "
        "beyond loopback requires one, or a file of users in TAVUS_MCP_USERS_FILE (each with their own sign-in and "
        "Tavus key; SIGHUP reloads it), optionally signing in through OAuth (TAVUS_MCP_OAUTH_ISSUER, "
        f"TAVUS_MCP_OAUTH_AUDIENCE). See {doc_url('docs/team.md')}.",
    )
    http.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default=argparse.SUPPRESS if suppress else "stdio",
        help="serve MCP over stdio (the default) or Streamable HTTP at /mcp",
    )
    http.add_argument(
        "--host",
        dest="http_host",
        metavar="HOST",
        default=none,
        help="address to listen on (TAVUS_MCP_HOST, default 127.0.0.1)",
    )
    http.add_argument(
        "--port",
        dest="http_port",
        metavar="PORT",
        default=none,
        help="port to listen on (TAVUS_MCP_PORT, default 8000)",
    )
    http.add_argument(
        "--allowed-hosts",
        metavar="LIST",
        default=none,
        help="comma-separated Host header values to accept besides localhost, such as mcp.example.com "
        "(TAVUS_MCP_ALLOWED_HOSTS)",
    )
    http.add_argument(
        "--allowed-origins",
        metavar="LIST",
        default=none,
        help="comma-separated browser origins to accept, such as https://app.example.com (TAVUS_MCP_ALLOWED_ORIGINS)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-tavus",
        formatter_class=_HelpFormatter,
        description=(
            "MCP server for Tavus conversational video. With no command it serves MCP over stdio (as `serve` "
            "does), which is what Claude Desktop and other MCP clients run. Try it with `mcp-server-tavus demo`. "
            "Every flag below goes before or after the command."
        ),
        epilog=_epilog(ENVIRONMENT, HTTP_ENVIRONMENT, codes=EXIT_SERVE),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_settings(parser, suppress=False)
    _add_http(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        formatter_class=_HelpFormatter,
        help="serve MCP over stdio (the default), or over Streamable HTTP with --transport http",
        description=SERVE_DESCRIPTION,
        epilog=_epilog(ENVIRONMENT, HTTP_ENVIRONMENT, codes=EXIT_SERVE),
    )
    _add_settings(serve, suppress=True)
    _add_http(serve, suppress=True)
    demo = commands.add_parser(
        "demo",
        formatter_class=_HelpFormatter,
        help="run this server over stdio against its embedded Tavus sandbox, as a real MCP client would, and create "
        "a conversation",
        description=(
            "Start this server as a subprocess over stdio, against its embedded Tavus sandbox (--sandbox), connect "
            "an MCP client to it as Claude Desktop would, list its tools and create a conversation, printing what "
            "the model reads. It needs no key and no network, and nothing is charged. The settings (variables and "
            "flags) are the server's, and passed on to it."
        ),
        epilog=_epilog(ENVIRONMENT, codes=EXIT_DEMO),
    )
    _add_settings(demo, suppress=True, sandbox_help="the demo always runs against the embedded Tavus emulator")
    check = commands.add_parser(
        "check",
        formatter_class=_HelpFormatter,
        help="call Tavus once with the configured key and say whether it works (exit 0), what is wrong (exit 1), "
        "or which setting is malformed (exit 2)",
        description=(
            "Call Tavus once (list replicas, limit 1) with the same settings the server would use, and print one "
            "line: ok, or exactly what is wrong (no key, the key refused, Tavus unreachable). With --sandbox it "
            "checks the installation against the embedded emulator instead, without a key."
        ),
        epilog=_epilog(ENVIRONMENT, codes=EXIT_CHECK),
    )
    _add_settings(
        check,
        suppress=True,
        sandbox_help="check the installation against the embedded Tavus emulator, which needs no key",
    )
    check_users = commands.add_parser(
        "check-users",
        formatter_class=_HelpFormatter,
        help="read TAVUS_MCP_USERS_FILE as a team server would (keys from this environment) and list its users "
        "(exit 0), or say what is wrong (exit 2): run it before a reload",
        description=(
            "Read the users file named by TAVUS_MCP_USERS_FILE as a team server would, with each user's Tavus key "
            "taken from the variable the file names (with --sandbox, as a sandboxed team server would: no key "
            "needed), and list its users: how each signs in, where their key comes from, their limits. Run it "
            f"before sending the server SIGHUP to reload the file. See {doc_url('docs/team.md#the-users-file')}."
        ),
        epilog=_epilog(
            _table(
                "environment:",
                [
                    ("TAVUS_MCP_USERS_FILE", "the users file to check (no default)"),
                    (
                        "TAVUS_API_KEY",
                        "the server's own key, for users without a key of their own. Keys are created in the "
                        "Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar) (no default)",
                    ),
                    ("TAVUS_SANDBOX", "--sandbox: 1 checks the file for a sandboxed team server (default 0)"),
                ],
            ),
            codes=EXIT_CHECK_USERS,
        ),
    )
    _add_settings(
        check_users, suppress=True, sandbox_help="check the file for a team server started with --sandbox: no keys"
    )
    sandbox_api = commands.add_parser(
        "sandbox-api",
        formatter_class=_HelpFormatter,
        help="serve the Tavus API emulator over HTTP, to point TAVUS_API_BASE_URL at",
        description=(
            "Serve the embedded Tavus API emulator (the one --sandbox uses) over HTTP until Ctrl+C, and print the "
            "base URL and the key it accepts, to set as TAVUS_API_BASE_URL and TAVUS_API_KEY for this server or any "
            "other program. Its conversations live in memory; nothing reaches Tavus."
        ),
        epilog=_epilog(codes=EXIT_SANDBOX_API),
    )
    # The same attributes as the server's --host and --port, so that they too go before or after the command.
    sandbox_api.add_argument(
        "--host",
        dest="http_host",
        metavar="HOST",
        default=argparse.SUPPRESS,
        help="address to listen on (default 127.0.0.1)",
    )
    sandbox_api.add_argument(
        "--port", dest="http_port", metavar="PORT", default=argparse.SUPPRESS, help="port to listen on (default 8765)"
    )
    _add_settings(sandbox_api, suppress=True, sandbox_help="accepted, and changes nothing: this is the sandbox")
    return parser


SANDBOX_API_PORT = 8765

# The settings flags a demo passes on to the server it starts, by their attribute on the parsed arguments.
_DEMO_FLAGS = {
    "default_replica_id": "--default-replica-id",
    "default_persona_id": "--default-persona-id",
    "timeout": "--timeout",
    "connect_timeout": "--connect-timeout",
    "max_call_duration": "--max-call-duration",
    "log_level": "--log-level",
}


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # `check` speaks to a person on the terminal: only warnings, unless asked for more.
    default_level = "WARNING" if args.command == "check" else "INFO"
    level = (args.log_level or os.environ.get("TAVUS_LOG_LEVEL", "") or default_level).upper()
    if level not in LEVELS:
        _fail(f"TAVUS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got {level!r}")
    configure_logging(level)

    try:
        settings = Settings.from_env(
            os.environ,
            base_url=args.api_base_url,
            default_replica_id=args.default_replica_id,
            default_persona_id=args.default_persona_id,
            timeout=parse_timeout(args.timeout, "--timeout") if args.timeout is not None else None,
            connect_timeout=(
                parse_timeout(args.connect_timeout, "--connect-timeout", example=DEFAULT_CONNECT_TIMEOUT)
                if args.connect_timeout is not None
                else None
            ),
            force_test_mode=args.test_mode or None,
            max_call_duration=(
                parse_count(args.max_call_duration, "--max-call-duration", low=1, high=86_400)
                if args.max_call_duration is not None
                else None
            ),
            sandbox=args.sandbox or None,
            toolsets=parse_toolsets(args.toolsets, "--toolsets") if args.toolsets is not None else None,
        )
        from tavus_mcp.client import check_proxy_environment

        check_proxy_environment(os.environ)
    except ConfigError as exc:
        _fail(str(exc))

    if args.command == "demo":
        from tavus_mcp.demo import run_demo

        flags = [
            part for name, flag in _DEMO_FLAGS.items() if getattr(args, name) for part in (flag, getattr(args, name))
        ]
        sys.exit(run_demo([*flags, *(["--test-mode"] if args.test_mode else [])]))
    if args.command == "sandbox-api":
        try:
            port = parse_count(args.http_port or str(SANDBOX_API_PORT), "--port", low=0, high=65535)
        except ConfigError as exc:
            _fail(str(exc))
        sys.exit(_serve_sandbox_api(args.http_host or "127.0.0.1", port))
    if args.command == "check-users":
        _check_users(settings)
    if args.command in (None, "serve") and args.transport == "stdio" and sys.stdin.isatty():
        # A person ran the stdio server in a terminal: it has nothing to show them, so say what it waits for.
        print(_terminal_notice(settings), file=sys.stderr, flush=True)
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
        announce = (lambda: _log_where_calls_go(settings)) if users is None else None
        code = serve_http(settings, http_settings, users=users, announce=announce)
        if code:
            sys.exit(code)
        return
    from tavus_mcp.stdio import serve_stdio

    _log_where_calls_go(settings)
    server = build_server(settings)
    code = serve_stdio(server)
    if code:
        sys.exit(code)


def _serve_sandbox_api(host: str, port: int) -> int:
    """`sandbox-api`: the emulator over HTTP until Ctrl+C or SIGTERM. The socket is listened on before anything is
    said, so a port in use is one line (and EXIT_CANNOT_LISTEN) rather than an invitation to use it, then a
    traceback."""
    import uvicorn

    from tavus_mcp.http.edge import cannot_listen, listen, run_until_stopped
    from tavus_mcp.sandbox.emulator import SANDBOX_API_KEY, TavusEmulator

    try:
        sock = listen(host, port)
    except OSError as exc:
        _fail(cannot_listen(exc, host, port, port_setting="--port", host_setting="--host"), EXIT_CANNOT_LISTEN)
    port = sock.getsockname()[1]  # the port given, or the one the system chose for --port 0
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    print(
        f"Tavus API emulator on {where}\n"
        f"Point the server at it with TAVUS_API_BASE_URL={where} TAVUS_API_KEY={SANDBOX_API_KEY}",
        flush=True,
    )
    config = uvicorn.Config(TavusEmulator().app, log_config=None, log_level="warning")
    run_until_stopped(uvicorn.Server(config), sock)
    return 0


def _check_users(settings: Settings) -> None:
    from tavus_mcp.team_sandbox import users_environment
    from tavus_mcp.users import ENV_USERS_FILE
    from tavus_mcp.users_file import load_users

    path = os.environ.get(ENV_USERS_FILE, "").strip()
    if not path:
        _fail(
            f"{ENV_USERS_FILE} is not set: set it to the users file to check "
            f"(see {doc_url('docs/team.md#the-users-file')})"
        )
    try:
        environ = users_environment(settings, os.environ)
        users = load_users(path, environ, server_key_set=settings.api_key is not None or settings.sandbox)
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
        key = "the sandbox (an account of their own)" if settings.sandbox else user.key_variable
        print(f"{user.name}: signs in by {' or '.join(sign_in)}; key from {key}; {', '.join(limits)}")
    sys.exit(0)


def _terminal_notice(settings: Settings) -> str:
    """What a person who started the stdio server in a terminal reads: what it waits for, and what to do instead."""
    command = _launch_command()
    entry = {"command": command[0], "args": command[1:], "env": {"TAVUS_API_KEY": "your-tavus-api-key"}}
    config = json.dumps({"mcpServers": {"tavus": entry}}, indent=2)
    sandbox = ", against the embedded Tavus sandbox" if settings.sandbox else ""
    return (
        f"mcp-server-tavus {__version__} is serving MCP over stdio{sandbox}. It waits for an MCP client such as\n"
        "Claude Desktop, which starts it and talks to it through stdin and stdout, so it shows nothing here.\n"
        "Ctrl+C stops it.\n\n"
        "  See what it does:      mcp-server-tavus demo\n"
        "  Check your Tavus key:  mcp-server-tavus check\n"
        "  Use it from Claude Desktop: add this to claude_desktop_config.json (Settings > Developer > Edit\n"
        '  Config), then restart Claude Desktop. To try it without a key, add "--sandbox" to "args" and leave\n'
        '  out "env".\n'
        f"{config}"
    )


def _launch_command() -> list[str]:
    """How this process was started, as an MCP client's config should start it: absolute paths, no subcommand."""
    script = Path(sys.argv[0])
    if script.name == "__main__.py":  # python -m tavus_mcp
        return [sys.executable, "-m", "tavus_mcp"]
    found = shutil.which(sys.argv[0])
    return [str(Path(found).absolute()) if found else sys.argv[0]]


def _log_where_calls_go(settings: Settings) -> None:
    if settings.sandbox:
        logger.info("serving against the embedded Tavus sandbox: nothing reaches Tavus, nothing is charged")
    elif settings.api_key is None:
        logger.warning(
            "TAVUS_API_KEY is not set: the tools are listed, but every call answers with an error saying how to set "
            f"it. {KEY_HELP} Use --sandbox to try the server without a key."
        )


def _fail(message: str, code: int = EXIT_BAD_SETTING) -> NoReturn:
    from tavus_mcp.redaction import redact_text

    # A setting's value may be quoted back (a malformed TAVUS_API_BASE_URL): never a password inside it.
    print(f"mcp-server-tavus: {redact_text(message)}", file=sys.stderr)
    sys.exit(code)
