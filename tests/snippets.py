"""Code blocks of the project's Markdown pages, and what it takes to run them as a reader would.

- `code_blocks(path)`: every fenced block, with its language, line, section and the HTML comment before it
  (`<!-- not run: reason -->`, `<!-- slow: reason -->`, `<!-- run by .ci/run: ... -->`).
- `reader_env(home, ...)`: the environment a reader's shell has after installing the server: a fresh home, the
  checkout's `.venv/bin` on PATH, no TAVUS_* variable of the test runner's. Proxies point at a closed port, with
  loopback exempt, so a snippet that tried to reach anything beyond loopback would fail rather than leave.
- `FakeOpenAI`: OpenAI's Responses API as an agent framework calls it, on loopback, playing a model that calls
  create_conversation once and then answers with the join link it got back. The agent snippets run unchanged
  against it (OPENAI_BASE_URL), so no LLM and no network are involved.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.upstream import serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# A port nothing listens on: a proxy there refuses every connection.
CLOSED_PROXY = "http://127.0.0.1:9"
JOIN_URL = re.compile(r"https://tavus-sandbox\.invalid/sandbox/rooms/c[0-9a-f]+")

_FENCE = re.compile(r"^```(\S*)\s*$")
_NOTE = re.compile(r"^<!--\s*(.*?)\s*-->$")


@dataclass(frozen=True)
class CodeBlock:
    lang: str
    body: str
    line: int  # of the opening fence, counting from 1
    section: str  # the closest heading above it
    note: str  # the HTML comment on the line before the fence, or ""

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}"

    @property
    def not_run_reason(self) -> str | None:
        return self.note.removeprefix("not run:").strip() if self.note.startswith("not run:") else None

    @property
    def slow(self) -> bool:
        return self.note.startswith("slow:")

    @property
    def run_by_ci(self) -> bool:
        return self.note.startswith("run by .ci/run:")


def code_blocks(path: Path) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    section = ""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        elif fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            before = lines[index - 1] if index else ""
            note = _NOTE.match(before)
            blocks.append(
                CodeBlock(
                    lang=fence.group(1),
                    body="\n".join(lines[index + 1 : end]) + "\n",
                    line=index + 1,
                    section=section,
                    note=note.group(1) if note else "",
                )
            )
            index = end
        index += 1
    return blocks


def reader_env(home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("TAVUS_", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        HTTP_PROXY=CLOSED_PROXY,
        HTTPS_PROXY=CLOSED_PROXY,
        ALL_PROXY=CLOSED_PROXY,
        NO_PROXY="127.0.0.1,localhost",
    )
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class FakeOpenAI:
    """OpenAI's Responses API (`POST /v1/responses`), playing a model that creates a conversation and shares it."""

    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    tool_outputs: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    ARGUMENTS: ClassVar[dict[str, str]] = {"persona_id": "p9a95912", "conversation_name": "Practice: price objections"}

    async def responses(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
        outputs = [
            item["output"]
            for item in body.get("input", [])
            if isinstance(item, dict) and item.get("type") == "function_call_output"
        ]
        if not outputs:
            offered = {tool.get("name") for tool in body.get("tools", [])}
            assert "create_conversation" in offered, offered
            item: dict[str, Any] = {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "create_conversation",
                "arguments": json.dumps(self.ARGUMENTS),
                "status": "completed",
            }
        else:
            output = outputs[-1] if isinstance(outputs[-1], str) else json.dumps(outputs[-1])
            found = JOIN_URL.search(output)
            text = f"Your practice call is ready: {found.group(0)}" if found else f"No link in: {output}"
            with self._lock:
                self.tool_outputs.append(output)
                self.answers.append(text)
            item = {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        return JSONResponse(
            {
                "id": f"resp_{len(self.requests)}",
                "object": "response",
                "created_at": 1_790_000_000,
                "status": "completed",
                "model": body.get("model", "gpt-5"),
                "output": [item],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "error": None,
                "incomplete_details": None,
                "instructions": None,
                "metadata": {},
                "usage": {
                    "input_tokens": 10,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 10,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 20,
                },
            }
        )

    def env(self) -> dict[str, str]:
        """What a reader has set for the model: OpenAI's key and (here) where its API is; no traces sent."""
        return {
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "OPENAI_BASE_URL": f"{self.base_url}/v1",
            "OPENAI_AGENTS_DISABLE_TRACING": "1",
        }


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = Starlette(routes=[Route("/v1/responses", fake.responses, methods=["POST"])])
    with serve_on_loopback(app) as base_url:
        fake.base_url = base_url
        yield fake


def anchors(path: Path) -> set[str]:
    """The #anchors GitHub gives the headings of a Markdown page (outside code blocks), repeats numbered."""
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"^#{1,6} +(.*?) *#*$", line)
        if heading and not fenced:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchor, number = slug, 0
            while anchor in found:
                number += 1
                anchor = f"{slug}-{number}"
            found.add(anchor)
    return found


def without_python(home: Path, **extra: str) -> dict[str, str]:
    """`reader_env`, on a machine with `python3` and no `python` (Debian, Ubuntu, macOS): `python` answers as a
    shell does for a command that does not exist."""
    stubs = home / "no-python-bin"
    stubs.mkdir(exist_ok=True)
    python = stubs / "python"
    python.write_text('#!/bin/sh\necho "python: command not found" >&2\nexit 127\n', encoding="utf-8")
    python.chmod(0o755)
    env = reader_env(home, **extra)
    env["PATH"] = f"{stubs}{os.pathsep}{env['PATH']}"
    return env
