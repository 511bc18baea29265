"""The `mcp-server-tavus` command run in this process: `tavus_mcp.cli.main` with an environment and streams of its
own.

For what the command decides before it serves: help pages, refused settings and files, `check` and `check-users`.
It is the code `python -m tavus_mcp` runs (its `run()` only restores the default Ctrl+C first), without the second
a process spends importing the SDK. A case that would go on to serve fails instead of blocking the test. Tests of
what needs the process itself (serving, signals, a terminal, the exit status) start one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from unittest import mock

from tavus_mcp.cli import main


@dataclass(frozen=True)
class Ran:
    """What a run of the command printed and the status it exited with, as `subprocess.CompletedProcess` has them."""

    returncode: int
    stdout: str
    stderr: str


def _must_not_serve(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AssertionError("the command went on to serve")


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """The command configures the root logger for its own stderr; the test runner's logging is put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in ("httpx2", "httpcore2")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, library_level in libraries.items():
            logging.getLogger(name).setLevel(library_level)


def run_main(*args: str, env: Mapping[str, str] | None = None) -> Ran:
    """`mcp-server-tavus ARGS` with no TAVUS_* variable of the runner's, plus `env`, run to its exit."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    stdout, stderr = io.StringIO(), io.StringIO()
    status: object = 0
    with (
        mock.patch.dict(os.environ, {**environ, **(env or {})}, clear=True),
        mock.patch("tavus_mcp.stdio.serve_stdio", _must_not_serve),
        mock.patch("tavus_mcp.http.serve_http", _must_not_serve),
        mock.patch("tavus_mcp.cli._serve_sandbox_api", _must_not_serve),
        mock.patch("tavus_mcp.demo.run_demo", _must_not_serve),
        _logging_restored(),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            main(list(args))
        except SystemExit as exited:
            status = exited.code
    # As the interpreter exits: None is 0, a message is printed and is 1.
    if status is None:
        status = 0
    elif not isinstance(status, int):
        stderr.write(f"{status}\n")
        status = 1
    return Ran(status, stdout.getvalue(), stderr.getvalue())


def serve_http_refused(env: Mapping[str, str], *args: str) -> Ran:
    """`mcp-server-tavus --transport http ARGS`, for a server that should refuse to start."""
    return run_main("--transport", "http", *args, env=env)
