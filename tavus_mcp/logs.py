"""Structured log lines on stderr: one `key=value` line per event (logfmt), easy to read and to parse.

stderr only: under stdio, stdout carries nothing but protocol messages. Whatever logs a line (this server, the
HTTP libraries at DEBUG, uvicorn, the SDK), the handler scrubs secrets from it and bounds its size, and a
warning or error repeated faster than a person can read is written a few times, then counted.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.requests import ClientDisconnect

from tavus_mcp.redaction import redact_text, scrub

# Attributes every LogRecord has; anything else on a record came from `extra=` and is printed as a field.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The user of the tool call being served (team servers only), set by the server for the call's duration: every
# line logged within the call names them, from the retries of the Tavus client to the call's own `tool_call` line.
call_user: ContextVar[str | None] = ContextVar("call_user", default=None)
# The longest message and traceback written: a client can put 16 KB in a header that a warning quotes.
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 8000
# Warnings and errors from one logger at one level: this many per window, then one count per window.
REPEATS_PER_WINDOW = 10
REPEAT_WINDOW_SECONDS = 60.0


def _quoted(value: Any) -> str:
    text = str(value)
    if text and not any(char in text for char in ' "=\\') and text.isprintable():
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def _clean(text: str) -> str:
    """`text` without configured secrets (in any encoding) or anything shaped like a credential."""
    return redact_text(scrub(text))


class LogfmtFormatter(logging.Formatter):
    """`time=... level=info logger=tavus_mcp msg="..." key=value ...`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _bounded(record.getMessage(), MAX_MESSAGE_CHARS),
            "user": call_user.get(),
        }
        fields.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD_ATTRIBUTES)
        if record.exc_text:
            fields["error"] = record.exc_text  # set by ScrubSecrets, scrubbed
        elif record.exc_info:
            fields["error"] = _bounded(self.formatException(record.exc_info), MAX_TRACEBACK_CHARS)
        return " ".join(f"{key}={_quoted(value)}" for key, value in fields.items() if value is not None)


class ScrubSecrets(logging.Filter):
    """Removes secrets from a record before any formatter sees it: its message (with its arguments), its extra
    fields, its traceback. The arguments are scrubbed one by one rather than merged into the message, so that
    formatters that read them (uvicorn's access log) still can."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean_argument(argument) for argument in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean_argument(value) for key, value in record.args.items()}
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                record.__dict__[key] = _clean(value)
        if record.exc_info and not record.exc_text:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _bounded(_clean(formatted), MAX_TRACEBACK_CHARS)
        if record.stack_info:
            record.stack_info = _clean(record.stack_info)
        return True


def _clean_argument(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    cleaned = _clean(text)
    return value if cleaned == text else cleaned


class RateLimitRepeats(logging.Filter):
    """Passes at most `REPEATS_PER_WINDOW` warnings and errors per logger and level in each window; the first one
    passed after some were dropped says how many (`suppressed=N`). A flood of refused connections or invalid
    requests then costs the log a few lines a minute instead of megabytes. INFO and DEBUG lines (one per tool
    call, one per request) are never dropped."""

    def __init__(self, per_window: int = REPEATS_PER_WINDOW, window: float = REPEAT_WINDOW_SECONDS) -> None:
        super().__init__()
        self.per_window = per_window
        self.window = window
        self._lock = threading.Lock()
        # (logger, level) -> [window start, passed in window, dropped since last passed]
        self._counts: dict[tuple[str, int], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        with self._lock:
            state = self._counts.setdefault((record.name, record.levelno), [now, 0, 0])
            if now - state[0] >= self.window:
                state[0], state[1] = now, 0
            if state[1] >= self.per_window:
                state[2] += 1
                return False
            state[1] += 1
            dropped, state[2] = int(state[2]), 0
        if dropped:
            record.suppressed = f"{dropped} similar lines from {record.name} left out"
        return True


class QuietDisconnects(logging.Filter):
    """A client that goes away in the middle of sending its request (or is closed for being too slow) is no error
    of the server's, but the SDK and uvicorn log it as one, with a traceback, which a stranger could repeat at will:
    such a record becomes one DEBUG line, written only when DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or not _is_disconnect(record.exc_info[1]):
            return True
        record.msg, record.args = "a client went away before its request was complete", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _is_disconnect(exc: BaseException | None) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_disconnect(inner) for inner in exc.exceptions)
    return isinstance(exc, ClientDisconnect) or (exc is not None and _is_disconnect(exc.__cause__))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(QuietDisconnects())
    # Rate limiting before scrubbing: a dropped line costs no scrubbing.
    handler.addFilter(RateLimitRepeats())
    handler.addFilter(ScrubSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        # One line per tool call is ours to log; the HTTP library's per-request lines only repeat it.
        for noisy in ("httpx2", "httpcore2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
