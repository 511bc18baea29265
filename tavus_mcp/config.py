"""Settings, read from the environment when the server starts (never at import), with command-line overrides."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

DEFAULT_BASE_URL = "https://tavusapi.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
# Connections to Tavus one process may hold at once.
DEFAULT_MAX_CONNECTIONS = 100
# Where a person gets a Tavus API key: every message about a missing or refused key ends with it.
KEY_HELP = (
    "Create a key in the Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar; "
    "https://docs.tavus.io/api-reference/authentication shows how)."
)
# wait_for_conversation asks Tavus for the call's state this often (seconds); against the sandbox, more often.
DEFAULT_POLL_INTERVAL = 5.0
SANDBOX_POLL_INTERVAL = 0.5
# A streamed answer (an HTTP event stream) carries something at least this often (seconds): an SSE comment, or a
# progress notification of wait_for_conversation, so that a proxy's read timeout never ends a call that is alive.
DEFAULT_KEEPALIVE = 10.0
# How long the sandbox's scripted call takes, from creation until its transcript is ready (seconds).
DEFAULT_SANDBOX_CALL_SECONDS = 6.0
# TAVUS_CONFIRM_BILLED: ask the user before a billed call or an irreversible delete (where the client can), or not.
CONFIRM_CHOICES = ("ask", "never")


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know to reach Tavus."""

    # A SecretStr never shows its value in repr, str, logs or tracebacks.
    api_key: SecretStr | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    default_replica_id: str | None = None
    default_persona_id: str | None = None
    # The whole time a tool call may wait for Tavus, retries included: a hanging Tavus never holds a call longer.
    timeout: float = DEFAULT_TIMEOUT
    # How long to wait for a connection to Tavus (within `timeout`).
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    # Further attempts for a request that failed in a way that is safe to repeat.
    max_retries: int = DEFAULT_MAX_RETRIES
    # Guardrails for whoever runs the server: every create in test mode (no charge), and a cap on call length.
    force_test_mode: bool = False
    max_call_duration: int | None = None
    # Serve against the embedded emulator instead of Tavus: no key, no network, nothing charged.
    sandbox: bool = False
    # Connections to Tavus this process may hold at once; calls beyond that wait for one.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Fields the server does not know yet that the operator lets through to Tavus, as dotted names relative to a
    # tool's arguments ("properties.new_flag"), "name.*" for anything under a name, or "*" for anything at all.
    passthrough_fields: tuple[str, ...] = ()
    # "ask": a client that can show a form confirms a billed call or a hard delete first; "never": unattended agents.
    confirm_billed: str = "ask"
    # Seconds between wait_for_conversation's requests to Tavus; None: DEFAULT_POLL_INTERVAL (the sandbox's own).
    poll_interval: float | None = None
    # The sandbox plays each non-test call through in this many seconds; 0 leaves calls active until ended.
    sandbox_call_seconds: float = DEFAULT_SANDBOX_CALL_SECONDS
    # Seconds a streamed answer may go without sending anything (TAVUS_MCP_KEEPALIVE): below any proxy's read timeout.
    keepalive: float = DEFAULT_KEEPALIVE

    @property
    def poll_seconds(self) -> float:
        if self.poll_interval is not None:
            return self.poll_interval
        return SANDBOX_POLL_INTERVAL if self.sandbox else DEFAULT_POLL_INTERVAL

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from `TAVUS_*` variables; a non-None override (a command-line flag) wins over its variable."""

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        key = get("TAVUS_API_KEY")
        timeout = get("TAVUS_TIMEOUT")
        connect_timeout = get("TAVUS_CONNECT_TIMEOUT")
        retries = get("TAVUS_MAX_RETRIES")
        cap = get("TAVUS_MAX_CALL_DURATION")
        test_mode = get("TAVUS_TEST_MODE")
        passthrough = get("TAVUS_PASSTHROUGH_FIELDS")
        confirm = get("TAVUS_CONFIRM_BILLED")
        poll = get("TAVUS_POLL_INTERVAL")
        call_seconds = get("TAVUS_SANDBOX_CALL_SECONDS")
        keepalive = get("TAVUS_MCP_KEEPALIVE")
        settings = cls(
            api_key=SecretStr(key) if key else None,
            base_url=get("TAVUS_API_BASE_URL") or DEFAULT_BASE_URL,
            default_replica_id=get("TAVUS_DEFAULT_REPLICA_ID"),
            default_persona_id=get("TAVUS_DEFAULT_PERSONA_ID"),
            timeout=parse_timeout(timeout, "TAVUS_TIMEOUT") if timeout else DEFAULT_TIMEOUT,
            connect_timeout=(
                parse_timeout(connect_timeout, "TAVUS_CONNECT_TIMEOUT") if connect_timeout else DEFAULT_CONNECT_TIMEOUT
            ),
            max_retries=parse_count(retries, "TAVUS_MAX_RETRIES", low=0, high=10) if retries else DEFAULT_MAX_RETRIES,
            force_test_mode=parse_flag(test_mode, "TAVUS_TEST_MODE") if test_mode else False,
            max_call_duration=parse_count(cap, "TAVUS_MAX_CALL_DURATION", low=1, high=86_400) if cap else None,
            passthrough_fields=parse_field_names(passthrough) if passthrough else (),
            confirm_billed=confirm.casefold() if confirm else "ask",
            poll_interval=parse_timeout(poll, "TAVUS_POLL_INTERVAL") if poll else None,
            sandbox_call_seconds=(
                parse_seconds(call_seconds, "TAVUS_SANDBOX_CALL_SECONDS")
                if call_seconds
                else DEFAULT_SANDBOX_CALL_SECONDS
            ),
            keepalive=parse_timeout(keepalive, "TAVUS_MCP_KEEPALIVE") if keepalive else DEFAULT_KEEPALIVE,
        )
        settings = replace(settings, **{name: value for name, value in overrides.items() if value is not None})
        return settings.validated()

    def validated(self) -> Settings:
        """These settings, with the base URL normalised; raises ConfigError naming the bad setting."""
        try:
            parts = urlsplit(self.base_url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(
                f"TAVUS_API_BASE_URL (--api-base-url) must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, "
                f"got {self.base_url!r}"
            )
        if self.api_key is not None and not is_sendable_key(self.api_key.get_secret_value()):
            # The key itself is never repeated: the message says what is wrong with it, not what it is.
            raise ConfigError(
                "TAVUS_API_KEY contains a character that cannot be sent to Tavus (a space, a line break, or a "
                "non-ASCII character such as a curly quote): set it again, exactly as Tavus gave it. " + KEY_HELP
            )
        if not 0 < self.timeout < math.inf:
            raise ConfigError(f"TAVUS_TIMEOUT (--timeout) must be a number of seconds above 0, got {self.timeout!r}")
        if not 0 < self.connect_timeout < math.inf:
            raise ConfigError(
                f"TAVUS_CONNECT_TIMEOUT must be a number of seconds above 0, got {self.connect_timeout!r}"
            )
        if not 0 <= self.max_retries <= 10:
            raise ConfigError(f"TAVUS_MAX_RETRIES must be a whole number from 0 to 10, got {self.max_retries!r}")
        if self.max_call_duration is not None and not 1 <= self.max_call_duration <= 86_400:
            raise ConfigError(
                "TAVUS_MAX_CALL_DURATION (--max-call-duration) must be a whole number of seconds from 1 to 86400, "
                f"got {self.max_call_duration!r}"
            )
        bad_names = [name for name in self.passthrough_fields if not _FIELD_PATTERN.fullmatch(name)]
        if bad_names:
            raise ConfigError(
                f"TAVUS_PASSTHROUGH_FIELDS: {bad_names[0]!r} is not a field name; give names separated by commas, "
                "such as 'properties.new_flag,new_top_field', a name ending in '.*' for anything under it, or '*'"
            )
        if self.confirm_billed not in CONFIRM_CHOICES:
            raise ConfigError(
                "TAVUS_CONFIRM_BILLED must be 'ask' (the default: a client that can show a form asks the user before "
                "a billed call or a hard delete) or 'never' (for agents that run unattended); "
                f"got {self.confirm_billed!r}"
            )
        if self.poll_interval is not None and not 0 < self.poll_interval <= 300:
            raise ConfigError(
                f"TAVUS_POLL_INTERVAL must be a number of seconds above 0 and at most 300, such as 5; "
                f"got {self.poll_interval!r}"
            )
        if not 0 <= self.sandbox_call_seconds <= 3600:
            raise ConfigError(
                "TAVUS_SANDBOX_CALL_SECONDS must be a number of seconds from 0 to 3600 (0: sandbox calls stay active "
                f"until ended); got {self.sandbox_call_seconds!r}"
            )
        if not 1 <= self.keepalive <= 300:
            raise ConfigError(
                "TAVUS_MCP_KEEPALIVE must be a number of seconds from 1 to 300, below the read timeout of any proxy "
                f"in front of the server (such as 10); got {self.keepalive!r}"
            )
        return replace(
            self,
            base_url=self.base_url.rstrip("/"),
            # A flag given as "" means no default, as an empty variable does.
            default_replica_id=(self.default_replica_id or "").strip() or None,
            default_persona_id=(self.default_persona_id or "").strip() or None,
        )


def is_sendable_key(key: str) -> bool:
    """Whether a key can travel in an HTTP header: printable ASCII, no spaces or line breaks."""
    return bool(key) and key.isascii() and key.isprintable() and " " not in key


# A field name, dotted for nested fields, optionally ending in ".*"; or "*" alone.
_FIELD_PATTERN = re.compile(r"\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?")


def parse_field_names(value: str) -> tuple[str, ...]:
    """Comma-separated field names (checked by `Settings.validated`), without blanks or repeats."""
    return tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))


def parse_flag(value: str, setting: str) -> bool:
    lowered = value.strip().casefold()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{setting} must be 1 or 0 (true or false); got {value!r}")


def parse_count(value: str, setting: str, *, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ConfigError(f"{setting} must be a whole number from {low} to {high}; got {value!r}")
    return number


def parse_timeout(value: str, setting: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{setting} must be a number of seconds above 0, such as 30; got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{setting} must be a number of seconds above 0, such as 30; got {value!r}")
    return seconds


def parse_seconds(value: str, setting: str) -> float:
    """A number of seconds, 0 included; `Settings.validated` checks the range."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise ConfigError(f"{setting} must be a number of seconds, such as 6; got {value!r}")
    return seconds


def is_loopback(host: str) -> bool:
    """Whether `host` (a name, an address, or an IPv6 address in brackets) can only be this machine: binding to it
    keeps a server reachable from here only, and a URL on it never crosses the network."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve anywhere
