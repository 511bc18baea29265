"""Unit tests of `tavus_mcp.config`: settings from a dict environment, overrides, validation, no reads at import."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from tavus_mcp.config import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, ConfigError, Settings, parse_timeout

API_KEY = "fake-key-9d8c7b6a5f4e3d2c1b0a"


def assert_url_error(error: ConfigError, url: str) -> None:
    """The message names the variable first, says what it accepts, and ends with the value it got.

    (What comes between, such as the matching command-line flag, is left free to change.)
    """
    message = str(error)
    assert message.startswith("TAVUS_API_BASE_URL ")
    assert "must be an absolute http(s) URL such as 'https://tavusapi.com'" in message
    assert message.endswith(f"got {url!r}")


def assert_timeout_error(error: ConfigError, shown: str, setting: str = "TAVUS_TIMEOUT") -> None:
    message = str(error)
    assert message.startswith(f"{setting} ")
    assert "must be a number of seconds above 0" in message
    assert message.endswith(f"got {shown}")


def test_defaults_constants() -> None:
    assert DEFAULT_BASE_URL == "https://tavusapi.com"
    assert DEFAULT_TIMEOUT == 30.0


def test_empty_environment_gives_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(
        api_key=None,
        base_url="https://tavusapi.com",
        default_replica_id=None,
        default_persona_id=None,
        timeout=30.0,
        sandbox=False,
    )
    assert settings.api_key is None
    assert settings.base_url == "https://tavusapi.com"
    assert settings.timeout == 30.0
    assert settings.sandbox is False


def test_reads_only_the_given_mapping_not_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVUS_API_KEY", "from-os-environ")
    monkeypatch.setenv("TAVUS_TIMEOUT", "abc")
    settings = Settings.from_env({})
    assert settings.api_key is None
    assert settings.timeout == 30.0


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "TAVUS_API_KEY": API_KEY,
            "TAVUS_API_BASE_URL": "http://localhost:8080",
            "TAVUS_DEFAULT_REPLICA_ID": "rfe12d8b9597",
            "TAVUS_DEFAULT_PERSONA_ID": "p9a95912",
            "TAVUS_TIMEOUT": "12.5",
            "UNRELATED": "ignored",
        }
    )
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == API_KEY
    assert settings.base_url == "http://localhost:8080"
    assert settings.default_replica_id == "rfe12d8b9597"
    assert settings.default_persona_id == "p9a95912"
    assert settings.timeout == 12.5
    assert settings.sandbox is False


@pytest.mark.parametrize(
    ("name", "attribute", "raw", "expected"),
    [
        ("TAVUS_API_BASE_URL", "base_url", "https://gateway.test/tavus", "https://gateway.test/tavus"),
        ("TAVUS_DEFAULT_REPLICA_ID", "default_replica_id", "r79e1c033f", "r79e1c033f"),
        ("TAVUS_DEFAULT_PERSONA_ID", "default_persona_id", "p5317866", "p5317866"),
        ("TAVUS_TIMEOUT", "timeout", "5", 5.0),
        ("TAVUS_TIMEOUT", "timeout", "0.25", 0.25),
        ("TAVUS_TIMEOUT", "timeout", "1e2", 100.0),
        ("TAVUS_CONFIRM_BILLED", "confirm_billed", "never", "never"),
        ("TAVUS_CONFIRM_BILLED", "confirm_billed", "NEVER", "never"),
        ("TAVUS_CONFIRM_BILLED", "confirm_billed", "ask", "ask"),
        ("TAVUS_POLL_INTERVAL", "poll_interval", "2.5", 2.5),
        ("TAVUS_MCP_KEEPALIVE", "keepalive", "4.5", 4.5),
        ("TAVUS_SANDBOX_CALL_SECONDS", "sandbox_call_seconds", "0", 0.0),
        ("TAVUS_SANDBOX_CALL_SECONDS", "sandbox_call_seconds", "20", 20.0),
    ],
)
def test_each_variable_alone(name: str, attribute: str, raw: str, expected: object) -> None:
    settings = Settings.from_env({name: raw})
    assert getattr(settings, attribute) == expected
    # Everything else keeps its default.
    defaults = dataclasses.asdict(Settings())
    others = {key: value for key, value in dataclasses.asdict(settings).items() if key != attribute}
    assert others == {key: value for key, value in defaults.items() if key != attribute}


def test_api_key_variable_becomes_a_secret() -> None:
    settings = Settings.from_env({"TAVUS_API_KEY": API_KEY})
    assert isinstance(settings.api_key, SecretStr)
    assert settings.api_key.get_secret_value() == API_KEY


def test_surrounding_whitespace_is_stripped() -> None:
    settings = Settings.from_env(
        {
            "TAVUS_API_KEY": f"  {API_KEY}\n",
            "TAVUS_API_BASE_URL": " https://tavus.test/ ",
            "TAVUS_DEFAULT_REPLICA_ID": "\trfe12d8b9597 ",
            "TAVUS_DEFAULT_PERSONA_ID": " p9a95912\n",
            "TAVUS_TIMEOUT": " 45 ",
        }
    )
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == API_KEY
    assert settings.base_url == "https://tavus.test"
    assert settings.default_replica_id == "rfe12d8b9597"
    assert settings.default_persona_id == "p9a95912"
    assert settings.timeout == 45.0


@pytest.mark.parametrize("blank", ["", " ", "\t\n  "], ids=["empty", "space", "whitespace"])
def test_blank_values_are_treated_as_unset(blank: str) -> None:
    environ = {
        name: blank
        for name in (
            "TAVUS_API_KEY",
            "TAVUS_API_BASE_URL",
            "TAVUS_DEFAULT_REPLICA_ID",
            "TAVUS_DEFAULT_PERSONA_ID",
            "TAVUS_TIMEOUT",
        )
    }
    assert Settings.from_env(environ) == Settings()


def test_overrides_win_over_the_environment() -> None:
    environ = {
        "TAVUS_API_KEY": "fake-key-from-env",
        "TAVUS_API_BASE_URL": "https://env.test",
        "TAVUS_DEFAULT_REPLICA_ID": "r-env",
        "TAVUS_DEFAULT_PERSONA_ID": "p-env",
        "TAVUS_TIMEOUT": "10",
    }
    settings = Settings.from_env(
        environ,
        api_key=SecretStr(API_KEY),
        base_url="https://flag.test/",
        default_replica_id="r-flag",
        default_persona_id="p-flag",
        timeout=3.0,
        sandbox=True,
    )
    assert settings == Settings(
        api_key=SecretStr(API_KEY),
        base_url="https://flag.test",
        default_replica_id="r-flag",
        default_persona_id="p-flag",
        timeout=3.0,
        sandbox=True,
    )


def test_none_overrides_do_not_replace_the_environment() -> None:
    environ = {
        "TAVUS_API_KEY": API_KEY,
        "TAVUS_API_BASE_URL": "https://env.test",
        "TAVUS_DEFAULT_REPLICA_ID": "r-env",
        "TAVUS_DEFAULT_PERSONA_ID": "p-env",
        "TAVUS_TIMEOUT": "10",
    }
    settings = Settings.from_env(
        environ,
        api_key=None,
        base_url=None,
        default_replica_id=None,
        default_persona_id=None,
        timeout=None,
        sandbox=None,
    )
    assert settings == Settings(
        api_key=SecretStr(API_KEY),
        base_url="https://env.test",
        default_replica_id="r-env",
        default_persona_id="p-env",
        timeout=10.0,
        sandbox=False,
    )


def test_none_overrides_keep_defaults() -> None:
    assert Settings.from_env({}, base_url=None, timeout=None, sandbox=None) == Settings()


def test_override_fixes_a_bad_environment_value_for_the_url_but_not_the_timeout() -> None:
    # The URL is validated after overrides, so a flag replaces a bad variable.
    assert Settings.from_env({"TAVUS_API_BASE_URL": "ftp://bad"}, base_url="https://ok.test").base_url == (
        "https://ok.test"
    )
    # The timeout variable is parsed before overrides apply.
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TAVUS_TIMEOUT": "abc"}, timeout=5.0)
    assert_timeout_error(info.value, "'abc'")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://tavus.test/", "https://tavus.test"),
        ("https://tavus.test///", "https://tavus.test"),
        ("https://gateway.test/tavus/", "https://gateway.test/tavus"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://tavus.test", "https://tavus.test"),
    ],
)
def test_trailing_slash_is_stripped_from_the_base_url(raw: str, expected: str) -> None:
    assert Settings.from_env({"TAVUS_API_BASE_URL": raw}).base_url == expected
    assert Settings.from_env({}, base_url=raw).base_url == expected


def test_validated_strips_the_slash_and_keeps_everything_else() -> None:
    settings = Settings(api_key=SecretStr(API_KEY), base_url="https://tavus.test/", timeout=2.0).validated()
    assert settings == Settings(api_key=SecretStr(API_KEY), base_url="https://tavus.test", timeout=2.0)


@pytest.mark.parametrize(
    "url",
    ["ftp://tavus.test", "https://", "http:///v2", "tavusapi.com", "/v2/conversations", "file:///etc/passwd", "ws://x"],
    ids=["ftp", "no-host", "no-host-path", "no-scheme", "path-only", "file", "ws"],
)
def test_bad_base_url_is_a_config_error_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TAVUS_API_BASE_URL": url})
    assert_url_error(info.value, url)


def test_bad_base_url_override_is_a_config_error_too() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, base_url="ftp://tavus.test")
    assert_url_error(info.value, "ftp://tavus.test")


@pytest.mark.parametrize(
    "url",
    ["https://[::1", "https://tavus.test:abc", "https://tavus.test:99999"],
    ids=["bad-ipv6", "port-abc", "port-99999"],
)
def test_malformed_base_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TAVUS_API_BASE_URL": url})
    assert "TAVUS_API_BASE_URL" in str(info.value)


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "inf", "-inf", "nan", "1e999", "0.0", "30s", "thirty"])
def test_bad_timeout_is_a_config_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TAVUS_TIMEOUT": raw})
    assert_timeout_error(info.value, repr(raw))


@pytest.mark.parametrize(("value", "shown"), [(0.0, "0.0"), (-1.0, "-1.0"), (float("nan"), "nan")])
def test_bad_timeout_override_is_a_config_error(value: float, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, timeout=value)
    assert_timeout_error(info.value, shown)


def test_infinite_timeout_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({}, timeout=float("inf"))


def test_parse_timeout_names_the_setting_it_was_given() -> None:
    assert parse_timeout("2.5", "--timeout") == 2.5
    with pytest.raises(ConfigError) as info:
        parse_timeout("-3", "--timeout")
    assert_timeout_error(info.value, "'-3'", setting="--timeout")


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout = 1.0  # type: ignore[misc]


def test_repr_never_shows_the_key() -> None:
    settings = Settings.from_env({"TAVUS_API_KEY": API_KEY, "TAVUS_DEFAULT_REPLICA_ID": "rfe12d8b9597"})
    assert API_KEY not in repr(settings)
    assert API_KEY not in str(settings)
    assert API_KEY not in f"{settings!r} {settings}"
    assert "api_key" not in repr(settings)
    assert repr(settings).startswith(
        "Settings(base_url='https://tavusapi.com', default_replica_id='rfe12d8b9597', default_persona_id=None, "
        "timeout=30.0"
    )
    # Even the key object itself hides its value.
    assert API_KEY not in repr(settings.api_key)
    assert API_KEY not in str(settings.api_key)


def test_config_errors_never_show_the_key() -> None:
    for environ in ({"TAVUS_TIMEOUT": "abc"}, {"TAVUS_API_BASE_URL": "ftp://x"}):
        with pytest.raises(ConfigError) as info:
            Settings.from_env({"TAVUS_API_KEY": API_KEY, **environ})
        assert API_KEY not in str(info.value)
        assert API_KEY not in repr(info.value)


def test_importing_the_server_does_not_read_settings() -> None:
    """Settings are read when the server starts, never at import: bad variables must not break `import`."""
    environ = {
        **os.environ,
        "TAVUS_TIMEOUT": "abc",
        "TAVUS_API_BASE_URL": "ftp://not-http",
        "TAVUS_API_KEY": API_KEY,
    }
    code = (
        "import tavus_mcp, tavus_mcp.config, tavus_mcp.client, tavus_mcp.server, tavus_mcp.cli\n"
        "from tavus_mcp.config import Settings\n"
        "import os\n"
        "try:\n"
        "    Settings.from_env(os.environ)\n"
        "except ValueError as exc:\n"
        "    print('bad settings:', exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # The same environment does fail once settings are read: the import above really ran with it.
    assert result.stdout.startswith("bad settings: TAVUS_TIMEOUT ")
    assert result.stdout.endswith("got 'abc'\n")


def test_confirmation_and_waiting_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.confirm_billed == "ask"
    assert settings.poll_interval is None and settings.poll_seconds == 5.0
    # The sandbox's calls last seconds: it is asked more often.
    assert dataclasses.replace(settings, sandbox=True).poll_seconds == 0.5
    assert dataclasses.replace(settings, sandbox=True, poll_interval=2.0).poll_seconds == 2.0
    assert settings.sandbox_call_seconds == 6.0


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "TAVUS_CONFIRM_BILLED",
            "no",
            "TAVUS_CONFIRM_BILLED must be 'ask' (the default: a client that can show a form asks the user before a "
            "billed call or a hard delete) or 'never' (for agents that run unattended); got 'no'",
        ),
        (
            "TAVUS_POLL_INTERVAL",
            "0",
            "TAVUS_POLL_INTERVAL must be a number of seconds above 0, such as 30; got '0'",
        ),
        (
            "TAVUS_MCP_KEEPALIVE",
            "0.5",
            "TAVUS_MCP_KEEPALIVE must be a number of seconds from 1 to 300, below the read timeout of any proxy in "
            "front of the server (such as 10); got 0.5",
        ),
        (
            "TAVUS_POLL_INTERVAL",
            "301",
            "TAVUS_POLL_INTERVAL must be a number of seconds above 0 and at most 300, such as 5; got 301.0",
        ),
        (
            "TAVUS_SANDBOX_CALL_SECONDS",
            "soon",
            "TAVUS_SANDBOX_CALL_SECONDS must be a number of seconds, such as 6; got 'soon'",
        ),
        (
            "TAVUS_SANDBOX_CALL_SECONDS",
            "nan",
            "TAVUS_SANDBOX_CALL_SECONDS must be a number of seconds, such as 6; got 'nan'",
        ),
        (
            "TAVUS_SANDBOX_CALL_SECONDS",
            "-1",
            "TAVUS_SANDBOX_CALL_SECONDS must be a number of seconds from 0 to 3600 (0: sandbox calls stay active until "
            "ended); got -1.0",
        ),
    ],
)
def test_bad_confirmation_and_waiting_settings_name_the_variable(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value) == message
