"""Keeping secrets in: the API key and every other configured secret, in whatever encoding text carries them.

Two kinds of redaction, for two kinds of secret:

- Configured secrets (the Tavus key, a password in `TAVUS_API_BASE_URL` or in a proxy URL, the MCP bearer tokens)
  are known exactly. `Scrubber` replaces each wherever it appears, written plainly or in the encodings a response
  can carry it in: JSON `\\uXXXX` escapes, percent-encoding, HTML character references (any mix of them, character
  by character) and base64 (as an echoed `Authorization: Basic` header is). `register_secrets` adds them to the
  process-wide set that `scrub` (log lines, tool results) uses.
- Third-party credentials (an LLM provider's key inside a persona) are not known, only recognisable:
  `redact_secrets` removes fields named like a credential and values shaped like one (bearer tokens, JWTs,
  `NAME_API_KEY=...`, passwords in URLs, well-known key formats), wherever they are in a structure. What a request
  of ours carries of them (`secrets_in`) is then known exactly, and scrubbed from its answers and errors.

A leaf module: imports nothing from the package.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

REDACTED = "[redacted]"

# A shorter secret is not scrubbed as a substring: "pw" would be replaced inside every word that holds it. Such a
# secret is still never shown where it is known to be (a URL's userinfo): see `public_url`.
MIN_SECRET_LENGTH = 6
# A base64 fragment shorter than this could occur by chance in any base64 text (a meeting token, an image).
_MIN_BASE64_FRAGMENT = 8


def _hex(number: int, width: int) -> str:
    """`number` as hexadecimal digits of either case: '6[aA]' for 0x6a."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _character(char: str) -> str:
    """A pattern for one character in any of the encodings a response can carry text in, escaped once or more."""
    code = ord(char)
    forms = [re.escape(char)]
    if code < 0x10000:
        forms.append(r"\\+u" + _hex(code, 4))  # JSON and JavaScript: \u0061, and \\u0061 in JSON inside JSON
    # URLs and form bodies: %61, and %2561 when encoded twice.
    forms.append("".join("%(?:25)*" + _hex(byte, 2) for byte in char.encode("utf-8")))
    forms.append(f"&#0*{code};")  # HTML
    forms.append("&#[xX]0*" + _hex(code, 1) + ";")
    if char in '"\\/':
        forms.append(r"\\+" + re.escape(char))  # JSON's short escapes
    if char == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _base64_fragments(secret: str) -> set[str]:
    """The parts of the base64 (standard and URL-safe) of any text holding `secret` that only `secret` decides.

    The secret can start at any of three offsets within base64's 3-byte groups; for each, the characters that
    mix its bits with its neighbours' are left out.
    """
    data = secret.encode("utf-8")
    fragments: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode("ascii")
        start = -(-offset * 8 // 6)
        end = (offset + len(data)) * 8 // 6
        fragment = encoded[start:end]
        if len(fragment) >= _MIN_BASE64_FRAGMENT:
            fragments.add(fragment)
            fragments.add(fragment.replace("+", "-").replace("/", "_"))
    return fragments


class Scrubber:
    """Replaces given secrets, in any encoding, by '[redacted]'. Immutable: build a new one for other secrets."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = frozenset(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
        patterns: list[str] = []
        beginnings: list[str] = []
        for secret in sorted(self.secrets, key=len, reverse=True):
            characters = [_character(char) for char in secret]
            patterns.append("".join(characters))
            patterns.extend(re.escape(fragment) for fragment in sorted(_base64_fragments(secret)))
            # Any beginning of the secret: its first character, then optionally the next, and so on.
            nested = ""
            for character in reversed(characters[1:]):
                nested = f"(?:{character}{nested})?"
            beginnings.append(characters[0] + nested)
        self._pattern = re.compile("|".join(patterns)) if patterns else None
        self._beginning = re.compile("(?:" + "|".join(beginnings) + r")\Z") if beginnings else None
        self._longest = max((len(secret) for secret in self.secrets), default=0)

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def cut(self, text: str) -> str:
        """`text`, a body read only up to a limit, scrubbed and without a secret's beginning at its end: where the
        read stopped may have cut a secret in two, and its first half is as good as leaked."""
        text = self(text)
        if self._beginning is None:
            return text
        # The longest encoding of a character is a dozen characters (&#x0000061; is unusual, and no longer).
        window = self._longest * 12
        match = self._beginning.search(text, max(0, len(text) - window))
        return text[: match.start()] if match else text

    def value(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, strings), with every string in it scrubbed, keys included."""
        if not self:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(key) if isinstance(key, str) else key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    @contextlib.contextmanager
    def scrubbing_errors(self, kind: type[BaseException]) -> Iterator[None]:
        """An exception of `kind` raised inside leaves without these secrets in its arguments (its message): an
        API's error that quotes the request (a 400 repeating the body, say) never repeats what it carried."""
        try:
            yield
        except kind as error:
            error.args = tuple(self(str(arg)) for arg in error.args)
            raise


class CredentialScrubber(Scrubber):
    """Replaces credentials found in a request or an answer (a provider's key in a persona), as written and in the
    whole-value encodings an answer quotes text in: JSON escapes, percent-encoding, base64.

    They can be many and of any length, where `Scrubber`'s patterns for any mix of encodings cost about 0.4 ms of
    compiling per character (a patch carrying a megabyte of keys would hold the event loop for minutes): these
    are plain searches, linear in the text. One shorter than MIN_SECRET_LENGTH is replaced where it is a whole
    value only.
    """

    def __init__(self, found: Iterable[str]) -> None:
        super().__init__(())
        self.secrets = frozenset(secret for secret in found if secret)
        forms = {form for secret in self.secrets for form in _whole_value_forms(secret)}
        self._forms = sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if text in self.secrets:
            return REDACTED
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self.secrets)


def _whole_value_forms(secret: str) -> set[str]:
    """`secret` as written, JSON-escaped (short escapes, or every character as \\uXXXX), percent-encoded (what
    must be, or every byte), and the parts of its base64 only it decides; hex in either case. Each made at C speed
    (a megabyte of keys takes milliseconds)."""
    percent = quote(secret, safe="")
    forms = {
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1],
        percent,
        re.sub("%[0-9A-F]{2}", lambda match: match[0].lower(), percent),
        *_base64_fragments(secret),
    }
    if secret.isascii():
        hexed = secret.encode("ascii").hex("%")  # 6b%6b%6b
        escaped, every_byte = "\\u00" + hexed.replace("%", "\\u00"), "%" + hexed
        forms |= {escaped, escaped.upper().replace("\\U", "\\u"), every_byte, every_byte.upper()}
    return forms - {""}


# The process's configured secrets, for whatever leaves it without passing through a client: log lines, tool
# results. Replaced whole on registration, so readers never need the lock.
_lock = threading.Lock()
_registered = Scrubber(())


def register_secrets(*secrets: str | None) -> None:
    """Add configured secrets (a key, a token, a password) to those `scrub` removes from what leaves the process."""
    global _registered
    new = {secret for secret in secrets if secret}
    with _lock:
        if new <= _registered.secrets:
            return
        _registered = Scrubber(_registered.secrets | new)


def scrub(text: str) -> str:
    """`text` without any registered secret, in any encoding."""
    return _registered(text)


def scrub_value(value: Any) -> Any:
    """`value` (JSON-like) without any registered secret in any of its strings."""
    return _registered.value(value)


# URLs


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries in its userinfo (`http://user:password@host`), as written and decoded.

    The user name counts as a secret only when there is no password (`https://TOKEN@host`); the whole userinfo
    always does, so that an echoed `Authorization: Basic` header is recognised.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at or not userinfo:
        return []
    user, colon, password = userinfo.partition(":")
    found = [userinfo, unquote(userinfo)]
    if colon and password:
        found += [password, unquote(password)]
    elif user:
        found += [user, unquote(user)]
    return [secret for secret in dict.fromkeys(found) if secret]


def public_url(url: str) -> str:
    """`url` as it may be shown: without the user name and password it may carry."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\g<scheme>", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# Recognising credentials nobody configured here

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/?#@\s\"'<>]+@")

# Names (fields, header names, variables) of credentials, split into words: api_key, apiKey, X-Api-Key, AUTH_TOKEN.
_SECRET_WORDS = frozenset(
    {
        "secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "credential", "credentials",
        "token", "tokens", "apikey", "apikeys", "jwt", "cookie", "cookies", "authorization", "auth", "bearer",
        "signature", "privatekey", "sessionid", "otp",
    }
)  # fmt: skip
# "key" is a credential at the end of a name (api_key, private_key, x-api-key) or before these words (key_value).
_KEY_WORDS = frozenset({"key", "keys"})
_AFTER_KEY = frozenset({"value", "values", "id", "data", "material", "pair", "string", "text"})


def _words(name: str) -> list[str]:
    return [word.casefold() for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def is_credential_name(name: str) -> bool:
    """Whether a field, header or variable name holds a credential: api_key, apiKey, X-Api-Key, auth_tokens,
    key_value, jwt, Cookie, client_secret, DB_PASSWORD...

    Matched by words, so that `keywords`, `author` or `monkey` are left alone; a number under such a name
    (`max_tokens: 512`) is kept by `redact_secrets`, which redacts only text and structures.
    """
    if not _MAYBE_CREDENTIAL.search(name):
        return False  # most names: no need to split them into words
    words = _words(name)
    if not words:
        return False
    joined = "".join(words)
    if any(word in _SECRET_WORDS for word in words) or "apikey" in joined or "accesskey" in joined:
        return True
    return words[-1] in _KEY_WORDS or any(
        word in _KEY_WORDS and following in _AFTER_KEY for word, following in itertools.pairwise(words)
    )


# A name starts a word (so that the search never restarts inside one, which would be quadratic).
_NAME = r"(?<![A-Za-z0-9_\-.])[A-Za-z0-9]+(?:[_\-.][A-Za-z0-9]+)*"
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"'<>]+)"
# Text that looks like a token rather than a word: a digit, a symbol, or an upper-case letter after a lower-case one.
# It does not end with a full stop, which ends the sentence around it.
_TOKEN_LIKE = r"(?=[A-Za-z0-9\-._~+/]*(?:\d|[+/=_\-.~]|[a-z][A-Z]))[A-Za-z0-9\-._~+/]{7,}[A-Za-z0-9\-_~+/]=*"  # noqa: S105
_SHAPES: list[tuple[re.Pattern[str], str]] = [
    # Authorization header values: "Bearer abc", "Basic dXNlcjpwYXNz", "Token abc"; not "basic understanding".
    (re.compile(rf"\b((?i:bearer|basic|token|digest))\s+{_TOKEN_LIKE}"), rf"\1 {REDACTED}"),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"), REDACTED),
    # Well-known key formats: OpenAI and Anthropic, Stripe, Slack, GitHub, AWS access key ids, Google API keys.
    (
        re.compile(
            r"\b(?:sk-[A-Za-z0-9_\-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|xox[abpros]-[A-Za-z0-9\-]{10,}"
            r"|gh[opsur]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35})"
        ),
        REDACTED,
    ),
    # A password in a URL: scheme://user:password@host.
    (_USERINFO, rf"\g<scheme>{REDACTED}@"),
]
# NAME=value and NAME: value where NAME names a credential (OPENAI_API_KEY=sk-..., "password": "x", ?token=...).
_NAME_AND_SEPARATOR = re.compile(rf"(?P<name>{_NAME})(?P<sep>\"?\s*[=:]\s*)")
_ASSIGNED_VALUE = re.compile(_VALUE)
# Every credential name holds one of these: a cheap test before splitting a name into words.
_MAYBE_CREDENTIAL = re.compile(r"key|token|secret|pass|pwd|auth|cred|jwt|cookie|sign|bearer|otp|session", re.I)


_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})


def _redact_assignments(text: str) -> str:
    # Only the value after a credential's name is consumed: "https://host/?token=x" still reaches "token=".
    pieces: list[str] = []
    done = 0
    for match in _NAME_AND_SEPARATOR.finditer(text):
        name = match["name"]
        if match.start() < done or not _MAYBE_CREDENTIAL.search(name):
            continue
        if not is_credential_name(name) or _words(name) == ["key"]:
            continue
        value = _ASSIGNED_VALUE.match(text, match.end())
        if value is None or REDACTED in value[0] or value[0].casefold() in _AUTH_SCHEMES:
            continue  # already redacted: "Authorization: Bearer [redacted]"
        quote = value[0][0] if value[0][0] in "\"'" else ""
        pieces += [text[done : match.end()], quote, REDACTED, quote]
        done = value.end()
    return "".join(pieces) + text[done:] if pieces else text


def redact_text(text: str) -> str:
    """`text` with values shaped like credentials replaced: bearer tokens, JWTs, well-known key formats, passwords
    in URLs, and the values of credential-named assignments (`OPENAI_API_KEY=...`, `password: ...`, `?token=...`)."""
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return _redact_assignments(text)


def redact_secrets(value: Any) -> Any:
    """A copy of `value` (JSON-like) without credentials: fields named like one, values shaped like one, and the
    value of a `{"name": "X-Api-Key", "value": ...}` pair."""
    if isinstance(value, dict):
        named = next(
            (value[k] for k in ("name", "key", "header", "header_name") if isinstance(value.get(k), str)), None
        )
        pair_is_secret = named is not None and is_credential_name(named)
        redacted: dict[Any, Any] = {}
        for key, item in value.items():
            secret_name = is_credential_name(str(key)) or (pair_is_secret and key in ("value", "values", "secret"))
            if secret_name and isinstance(item, str | dict | list) and item:
                redacted[key] = REDACTED
            else:
                redacted[key] = redact_secrets(item)
        return redacted
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    if isinstance(value, str):
        if value.casefold().startswith(("bearer ", "basic ")):
            return REDACTED  # an Authorization header's value, whatever follows
        return redact_text(value)
    return value


# What a request carries: the credentials `redact_secrets` would remove from it, known exactly from then on


def secrets_in(body: Any) -> list[str]:
    """The credentials a request body carries (a provider key in a persona's layers, or a JSON Patch's value at
    such a path): what `redact_secrets` would remove from it, so that a `Scrubber` of them keeps any answer or
    error from repeating them."""
    if isinstance(body, list):  # a JSON Patch: the value's name is the last segment of its path
        body = [{str(op.get("path", "")).rsplit("/", 1)[-1]: op.get("value")} for op in body if isinstance(op, dict)]

    def removed(original: Any, redacted: Any) -> list[str]:
        if redacted == REDACTED and original != REDACTED:
            return [text for text in _strings(original) if text]
        if isinstance(original, str) and isinstance(redacted, str) and original != redacted:
            return [*_cut_out(original, redacted), *url_secrets(original)]  # a URL's password, also on its own
        if isinstance(original, dict) and isinstance(redacted, dict):
            return [found for key in original for found in removed(original[key], redacted.get(key))]
        if isinstance(original, list) and isinstance(redacted, list):
            return [found for pair in zip(original, redacted, strict=False) for found in removed(*pair)]
        return []

    return removed(body, redact_secrets(body))


def _cut_out(original: str, redacted: str) -> list[str]:
    """The parts of `original` that `redacted` replaced by REDACTED (a URL's password, a token in a prompt); all
    of it when they cannot be lined up."""
    kept = redacted.split(REDACTED)
    if not original.startswith(kept[0]):
        return [original]
    parts, at = [], len(kept[0])
    for index, piece in enumerate(kept[1:], start=1):
        end = len(original) - len(piece) if index == len(kept) - 1 else original.find(piece, at)
        if end < at or not original.startswith(piece, end):
            return [original]
        parts.append(original[at:end])
        at = end + len(piece)
    return [part for part in parts if part]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def without_credentials(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer (a persona as Tavus holds it) without credentials: those `redact_secrets` removes, and each of
    them wherever else it appears in the answer, such as a key copied into a prompt or a note."""
    redacted: dict[str, Any] = redact_secrets(answer)
    found = secrets_in(answer)
    return CredentialScrubber(found).value(redacted) if found else redacted
