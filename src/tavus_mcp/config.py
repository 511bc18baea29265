"""Settings, read from the environment when the server starts (never at import), with command-line overrides."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from tavus_mcp.client import is_sendable_key

DEFAULT_BASE_URL = "https://tavusapi.com"
DEFAULT_TIMEOUT = 30.0


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
    timeout: float = DEFAULT_TIMEOUT
    # Serve against the embedded emulator instead of Tavus: no key, no network, nothing charged.
    sandbox: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from `TAVUS_*` variables; a non-None override (a command-line flag) wins over its variable."""

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        key = get("TAVUS_API_KEY")
        timeout = get("TAVUS_TIMEOUT")
        settings = cls(
            api_key=SecretStr(key) if key else None,
            base_url=get("TAVUS_API_BASE_URL") or DEFAULT_BASE_URL,
            default_replica_id=get("TAVUS_DEFAULT_REPLICA_ID"),
            default_persona_id=get("TAVUS_DEFAULT_PERSONA_ID"),
            timeout=parse_timeout(timeout, "TAVUS_TIMEOUT") if timeout else DEFAULT_TIMEOUT,
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
                "non-ASCII character such as a curly quote): copy the key again from the Tavus developer portal"
            )
        if not 0 < self.timeout < math.inf:
            raise ConfigError(f"TAVUS_TIMEOUT (--timeout) must be a number of seconds above 0, got {self.timeout!r}")
        return replace(self, base_url=self.base_url.rstrip("/"))


def parse_timeout(value: str, setting: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{setting} must be a number of seconds above 0, such as 30; got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{setting} must be a number of seconds above 0, such as 30; got {value!r}")
    return seconds
