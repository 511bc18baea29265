"""Structured log lines on stderr: one `key=value` line per event (logfmt), easy to read and to parse.

stderr only: under stdio, stdout carries nothing but protocol messages.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=` and is printed as a field.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The user of the tool call being served (team servers only), set by the server for the call's duration: every
# line logged within the call names them, from the retries of the Tavus client to the call's own `tool_call` line.
call_user: ContextVar[str | None] = ContextVar("call_user", default=None)


def _quoted(value: Any) -> str:
    text = str(value)
    if text and not any(char in text for char in ' "=\\') and text.isprintable():
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """`time=... level=info logger=tavus_mcp msg="..." key=value ...`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "user": call_user.get(),
        }
        fields.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD_ATTRIBUTES)
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return " ".join(f"{key}={_quoted(value)}" for key, value in fields.items() if value is not None)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        # One line per tool call is ours to log; the HTTP library's per-request lines only repeat it.
        for noisy in ("httpx2", "httpcore2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
