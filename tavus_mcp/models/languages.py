"""The languages Tavus speaks, and the spelling it needs: a full English name (or `multilingual`), never a code."""

from __future__ import annotations

import re

# Languages Tavus lists as supported. The list can grow with the voice engines, so a full name that is not here
# is passed on to Tavus to judge; this list only gives names their canonical spelling.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "English", "French", "German", "Spanish", "Portuguese", "Chinese", "Japanese", "Hindi", "Italian", "Korean",
    "Dutch", "Polish", "Russian", "Swedish", "Turkish", "Tagalog", "Bulgarian", "Romanian", "Arabic", "Czech",
    "Greek", "Finnish", "Croatian", "Malay", "Slovak", "Danish", "Tamil", "Ukrainian", "Hungarian", "Norwegian",
    "Vietnamese", "Bengali", "Thai", "Hebrew", "Georgian", "Indonesian", "Telugu", "Gujarati", "Kannada",
    "Malayalam", "Marathi", "Punjabi",
)  # fmt: skip


MULTILINGUAL = "multilingual"


# ISO 639-1 codes of the supported languages, to turn "es" into the name Tavus needs.
LANGUAGE_CODES: dict[str, str] = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "pt": "Portuguese", "zh": "Chinese",
    "ja": "Japanese", "hi": "Hindi", "it": "Italian", "ko": "Korean", "nl": "Dutch", "pl": "Polish",
    "ru": "Russian", "sv": "Swedish", "tr": "Turkish", "tl": "Tagalog", "bg": "Bulgarian", "ro": "Romanian",
    "ar": "Arabic", "cs": "Czech", "el": "Greek", "fi": "Finnish", "hr": "Croatian", "ms": "Malay", "sk": "Slovak",
    "da": "Danish", "ta": "Tamil", "uk": "Ukrainian", "hu": "Hungarian", "no": "Norwegian", "nb": "Norwegian",
    "vi": "Vietnamese", "bn": "Bengali", "th": "Thai", "he": "Hebrew", "iw": "Hebrew", "ka": "Georgian",
    "id": "Indonesian", "te": "Telugu", "gu": "Gujarati", "kn": "Kannada", "ml": "Malayalam", "mr": "Marathi",
    "pa": "Punjabi", "fil": "Tagalog",
    # ISO 639-2 codes, as some models write them
    "eng": "English", "fra": "French", "fre": "French", "deu": "German", "ger": "German", "spa": "Spanish",
    "por": "Portuguese", "zho": "Chinese", "chi": "Chinese", "jpn": "Japanese", "hin": "Hindi", "ita": "Italian",
    "kor": "Korean", "nld": "Dutch", "dut": "Dutch", "pol": "Polish", "rus": "Russian", "swe": "Swedish",
    "tur": "Turkish", "tgl": "Tagalog", "bul": "Bulgarian", "ron": "Romanian", "rum": "Romanian", "ara": "Arabic",
    "ces": "Czech", "cze": "Czech", "ell": "Greek", "gre": "Greek", "fin": "Finnish", "hrv": "Croatian",
    "msa": "Malay", "may": "Malay", "slk": "Slovak", "slo": "Slovak", "dan": "Danish", "tam": "Tamil",
    "ukr": "Ukrainian", "hun": "Hungarian", "nor": "Norwegian", "vie": "Vietnamese", "ben": "Bengali",
    "tha": "Thai", "heb": "Hebrew", "kat": "Georgian", "geo": "Georgian", "ind": "Indonesian", "tel": "Telugu",
    "guj": "Gujarati", "kan": "Kannada", "mal": "Malayalam", "mar": "Marathi", "pan": "Punjabi",
}  # fmt: skip


_CANONICAL_LANGUAGE = {name.casefold(): name for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL)}


# A language code rather than a name: "es", "pt-BR", "zh_Hant" (and the 3-letter codes of LANGUAGE_CODES).
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2}|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})+")


def canonical_language(value: str) -> str:
    """The language as Tavus wants it: a full name (canonical spelling when known) or `multilingual`.

    Raises ValueError, with the full name to use when it is known, for a language code such as `es` or `pt-BR`.
    """
    name = value.strip()
    known = _CANONICAL_LANGUAGE.get(name.casefold())
    if known:
        return known
    if _LANGUAGE_CODE.fullmatch(name) or name.casefold() in LANGUAGE_CODES:
        full = LANGUAGE_CODES.get(re.split(r"[-_]", name)[0].casefold())
        use = f"use {full!r}" if full else "give its full English name, such as 'English' or 'Spanish'"
        raise ValueError(
            f"{value!r} is a language code; Tavus needs the full language name: {use} "
            f"(or {MULTILINGUAL!r} to detect the speaker's language automatically)"
        )
    if not all(part.isalpha() for part in name.replace("-", " ").split()) or not name:
        raise ValueError(
            f"{value!r} is not a language name; give the full name, such as 'English' or 'Spanish', "
            f"or {MULTILINGUAL!r} to detect the speaker's language automatically"
        )
    return name
