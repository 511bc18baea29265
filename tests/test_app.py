"""The MCP App view of create_conversation: the resource as MCP serves it, and the view working in a real browser.

The browser tests drive headless Chromium with Playwright (without Playwright's own browser downloads): a test host
page (tests/app_host/host.html) plays the MCP Apps host. It renders the view, served on another origin with the CSP
its resource declares, hands it the result of a real create_conversation call, and passes the view's tools/call
requests to the test, which performs them on the real server against the Tavus emulator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult, TextResourceContents

from tavus_mcp.catalog import CONVERSATION_VIEW
from tavus_mcp.config import Settings
from tavus_mcp.server import JOIN_URL_DOMAINS, build_server
from tests.conftest import Sandbox, connect, text_of

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Frame, Page

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
HOST_PAGE = Path(__file__).resolve().parent / "app_host" / "host.html"
OUTPUT = ROOT / "test-output"
README_SCREENSHOT = ROOT / "docs" / "conversation-app.png"
REPLICA = "rfe12d8b9597"
UNTRAINED_REPLICA = "r9d30b0e55a"  # the emulator's replica whose training has not finished
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The iframe `allow` feature each `_meta.ui.permissions` entry maps to (the spec's permissions).
PERMISSION_POLICY = {
    "camera": "camera",
    "microphone": "microphone",
    "geolocation": "geolocation",
    "clipboardWrite": "clipboard-write",
}
# What a host that negotiated Apps declares (the spec's client capability).
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


# The resource and the capability, through the protocol


async def test_the_view_is_served_as_an_mcp_app(sandbox: Sandbox) -> None:
    async with Client(build_server(sandbox.settings()), extensions=[APPS]) as mcp:
        assert EXTENSION_ID in (mcp.server_capabilities.extensions or {})

        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        assert tools["create_conversation"].meta == {"ui": {"resourceUri": CONVERSATION_VIEW}}
        assert all(
            tool.meta is None or "ui" not in tool.meta for name, tool in tools.items() if name != "create_conversation"
        )

        listed = [resource for resource in (await mcp.list_resources()).resources if resource.uri == CONVERSATION_VIEW]
        assert len(listed) == 1 and listed[0].mime_type == APP_MIME_TYPE

        read = await mcp.read_resource(CONVERSATION_VIEW)
    [content] = read.contents
    assert isinstance(content, TextResourceContents)
    assert content.uri == CONVERSATION_VIEW
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta is not None
    ui = content.meta["ui"]
    # The join URL's origins: Tavus's rooms on Daily, and the emulator's own rooms in the sandbox.
    assert set(ui["csp"]["frameDomains"]) >= {*JOIN_URL_DOMAINS, sandbox.base_url}
    assert "https://*.daily.co" in ui["csp"]["frameDomains"]
    assert ui["permissions"] == {"camera": {}, "microphone": {}, "clipboardWrite": {}}

    html = content.text
    assert html == resources.files("tavus_mcp.ui").joinpath("conversation.html").read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>")
    assert len(html.encode()) < 14 * 1024
    # Self-contained: the host's CSP allows no outside scripts, styles, fonts or images, so the view uses none.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "@font-face" not in html


async def test_hosts_without_apps_get_the_same_tools_and_results(sandbox: Sandbox) -> None:
    arguments = {"replica_id": REPLICA, "conversation_name": "Same either way"}
    seen = []
    for extensions in ([APPS], None):
        async with Client(build_server(sandbox.settings()), extensions=extensions) as mcp:
            tools = (await mcp.list_tools()).tools
            result = await mcp.call_tool("create_conversation", arguments)
        assert not result.is_error, text_of(result)
        seen.append(([tool.model_dump(by_alias=True) for tool in tools], _normalized(result)))
    assert seen[0] == seen[1]

    # What a text-only host shows is what tests/test_create_conversation.py pins: the link first, then the id.
    without_apps = seen[1][1]
    assert without_apps["structured"]["join_url"] == without_apps["structured"]["conversation_url"]
    stored = next(c for c in sandbox.emulator.conversations.values() if c["conversation_name"] == "Same either way")
    text = without_apps["text"].replace("<id>", stored["conversation_id"])
    assert text.splitlines()[0] == f"Join the video call: {stored['conversation_url']}"
    assert f"Conversation id: {stored['conversation_id']}" in text


def _normalized(result: CallToolResult) -> dict[str, Any]:
    """The result with what differs from one conversation to the next (id, creation time) replaced."""
    structured = result.structured_content or {}
    dumped = json.dumps({"text": text_of(result), "structured": structured, "is_error": result.is_error})
    for value, placeholder in ((structured["conversation_id"], "<id>"), (structured["created_at"], "<created_at>")):
        dumped = dumped.replace(value, placeholder)
    normalized: dict[str, Any] = json.loads(dumped)
    return normalized


# The view in a real browser


def _chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Headless Chromium with a fresh profile, driven by Playwright; skips when either is missing."""
    executable = _chromium()
    if executable is None:
        missing = "no Chromium found: install Debian's chromium package (or set CHROMIUM to a Chromium binary)"
        # CI sets TAVUS_REQUIRE_BROWSER: there a missing browser is a failure, not a skip.
        if os.environ.get("TAVUS_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    async_api = pytest.importorskip(
        "playwright.async_api", reason="Playwright is not installed (pip install -e .[dev])"
    )
    async with async_api.async_playwright() as playwright:
        context: BrowserContext = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 720, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()


@dataclass
class View:
    """The view as the MCP server serves it, and the page that hosts it."""

    html: str
    csp: dict[str, list[str]]
    permissions: dict[str, Any]


async def _read_view(mcp: Client) -> View:
    read = await mcp.read_resource(CONVERSATION_VIEW)
    [content] = read.contents
    assert isinstance(content, TextResourceContents) and content.meta is not None
    ui = content.meta["ui"]
    return View(html=content.text, csp=ui.get("csp", {}), permissions=ui.get("permissions", {}))


def _content_security_policy(csp: dict[str, list[str]]) -> str:
    """The CSP a host builds from the resource's _meta.ui.csp (the spec's "CSP Construction from Metadata")."""
    resource = " ".join(csp.get("resourceDomains", []))
    connect = " ".join(csp.get("connectDomains", []))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'unsafe-inline' {resource}".strip(),
            f"style-src 'self' 'unsafe-inline' {resource}".strip(),
            f"connect-src 'self' {connect}".strip(),
            f"img-src 'self' data: {resource}".strip(),
            f"font-src 'self' {resource}".strip(),
            f"media-src 'self' data: {resource}".strip(),
            "frame-src " + (" ".join(csp.get("frameDomains", [])) or "'none'"),
            "object-src 'none'",
            "base-uri " + (" ".join(csp.get("baseUriDomains", [])) or "'self'"),
        ]
    )


@contextmanager
def _serve(view: View) -> Iterator[int]:
    """Serve the host page and the view on loopback; the view is opened as localhost, another origin than the host's.

    Yields the port.
    """
    host_page = HOST_PAGE.read_bytes()
    view_page = view.html.encode()
    policy = _content_security_policy(view.csp)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
            if self.path == "/host.html":
                body = host_page
            elif self.path == "/view.html":
                body = view_page
                headers["Content-Security-Policy"] = policy
            else:
                self.send_error(404)
                return
            self.send_response(200)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Polled often, so that shutdown() returns at once rather than after serve_forever's default half second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="app-host", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Hosted:
    page: Page
    view: Frame
    console: list[str]


@asynccontextmanager
async def _host(
    browser: BrowserContext,
    port: int,
    view: View,
    *,
    theme: str,
    tool_input: dict[str, Any],
    result: CallToolResult,
    grant: bool = True,
    message: bool = True,
) -> AsyncIterator[Hosted]:
    """Open the host page, render the view in it and deliver the tool input and result once the view is ready."""
    page = await browser.new_page()
    await page.emulate_media(color_scheme="dark" if theme == "dark" else "light")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    view_origin = f"http://localhost:{port}"
    allow = [feature for key, feature in PERMISSION_POLICY.items() if grant and key in view.permissions]
    host_context = {
        "theme": theme,
        "displayMode": "inline",
        "availableDisplayModes": ["inline"],
        "containerDimensions": {"maxWidth": 720, "maxHeight": 900},
        "platform": "web",
        "locale": "en-US",
        # A host's own style variables (a subset, as the spec allows): the view must take them over.
        "styles": {"variables": {"--border-radius-md": "10px", "--font-sans": "system-ui, sans-serif"}},
    }
    await page.goto(f"http://127.0.0.1:{port}/host.html")
    await page.evaluate(
        "config => startHost(config)",
        {
            "viewUrl": f"{view_origin}/view.html",
            "viewOrigin": view_origin,
            "allow": "; ".join(allow),
            "hostContext": host_context,
            # The host grants what the resource asks for (or, with grant=False, no permission at all).
            "hostCapabilities": {
                "openLinks": {},
                "serverTools": {},
                # ui/message: the host adds what the view sends to the chat (with message=False, it cannot).
                **({"message": {"text": {}}} if message else {}),
                "sandbox": {"csp": view.csp, "permissions": view.permissions if grant else {}},
            },
            "toolInput": tool_input,
            "toolResult": result.model_dump(by_alias=True, exclude_none=True, mode="json"),
        },
    )
    element = await page.wait_for_selector("#view")
    frame = await element.content_frame() if element is not None else None
    assert frame is not None
    await _until(frame, "document.getElementById('status').textContent.startsWith('Status: ')")
    try:
        yield Hosted(page, frame, console)
    finally:
        await page.close()


async def _until(frame: Frame, expression: str) -> None:
    """Wait until a JavaScript expression is true in the view.

    Playwright's wait_for_function polls with eval, which the view's CSP (rightly) refuses; evaluating from outside
    is not subject to it.
    """
    with anyio.fail_after(15):
        while True:
            if await frame.evaluate(expression):
                return
            await anyio.sleep(0.05)


Relayed = tuple[dict[str, Any], CallToolResult]


async def _relay(hosted: Hosted, mcp: Client, until: Callable[[dict[str, Any], CallToolResult], bool]) -> list[Relayed]:
    """Perform the view's tools/call requests on the real server and answer them, as a host proxies them, in order,
    until one satisfies `until`; the calls relayed."""
    relayed: list[Relayed] = []
    while not relayed or not until(*relayed[-1]):
        await hosted.page.wait_for_function("window.hostCalls.length > 0")
        call = await hosted.page.evaluate("window.hostCalls.shift()")
        params: dict[str, Any] = call["params"]
        result = await mcp.call_tool(params["name"], params.get("arguments"))
        answer = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        await hosted.page.evaluate("([id, result]) => answerCall(id, result)", [call["id"], answer])
        relayed.append((params, result))
    return relayed


async def _relay_tool_call(hosted: Hosted, mcp: Client, name: str) -> Relayed:
    """Relay the view's calls (the polls that follow the call, say) until one to the tool `name`; that one."""
    relayed = await _relay(hosted, mcp, lambda params, _: params["name"] == name)
    return relayed[-1]


async def _focused_id(frame: Frame) -> str | None:
    focused: str | None = await frame.evaluate("document.hasFocus() ? document.activeElement.id : null")
    return focused


@pytest.mark.browser
@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_call_runs_in_the_chat_and_ends_from_it(
    theme: str, sandbox: Sandbox, browser: BrowserContext
) -> None:
    arguments = {"replica_id": REPLICA, "conversation_name": "Sales practice", "require_auth": True}
    async with connect(sandbox.settings()) as mcp:
        view = await _read_view(mcp)
        created = await mcp.call_tool("create_conversation", arguments)
        assert not created.is_error, text_of(created)
        assert created.structured_content is not None
        conversation_id = created.structured_content["conversation_id"]
        join_url = created.structured_content["join_url"]
        # A private room: the link carries the meeting token, and the room is the emulator's, on loopback.
        assert join_url.startswith(f"{sandbox.base_url}/sandbox/rooms/{conversation_id}?t=")

        with _serve(view) as port:
            async with _host(browser, port, view, theme=theme, tool_input=arguments, result=created) as hosted:
                page, frame = hosted.page, hosted.view

                # The handshake, as the view spoke it.
                log = await page.evaluate("window.hostLog")
                assert log[0]["method"] == "ui/initialize"
                assert log[0]["params"]["protocolVersion"] == "2026-01-26"
                assert log[0]["params"]["appInfo"]["name"] and log[0]["params"]["appInfo"]["version"]
                assert isinstance(log[0]["params"]["appCapabilities"], dict)
                assert [m.get("method") for m in log].index("ui/notifications/initialized") == 1
                await page.wait_for_function(
                    "window.hostLog.some(m => m.method === 'ui/notifications/size-changed' && m.params.height > 200)"
                )
                assert all(m["jsonrpc"] == "2.0" for m in await page.evaluate("window.hostLog"))

                # The host's theme and style variables are applied.
                assert await frame.evaluate("document.documentElement.dataset.theme") == theme
                radius = "getComputedStyle(document.documentElement).getPropertyValue('--border-radius-md').trim()"
                assert await frame.evaluate(radius) == "10px"
                background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
                assert background == ("rgb(28, 28, 30)" if theme == "dark" else "rgb(255, 255, 255)")

                # The call itself, embedded, with the room's page loaded through the resource's CSP.
                room = await frame.wait_for_selector("#room iframe")
                assert room is not None
                assert await room.get_attribute("src") == join_url
                allowed = {feature.strip() for feature in (await room.get_attribute("allow") or "").split(";")}
                assert {"camera", "microphone", "display-capture"} <= allowed
                room_frame = await room.content_frame()
                assert room_frame is not None
                assert conversation_id in await room_frame.inner_text("h1")
                assert await frame.inner_text("#name") == "Sales practice"
                assert await frame.inner_text("#status") == "Status: waiting for you"
                assert await frame.inner_text("#meta") == f"Conversation {conversation_id} · billed until it ends"
                assert await frame.is_visible("#end")
                assert not await frame.is_visible("#note")

                OUTPUT.mkdir(exist_ok=True)
                await page.locator("#view").screenshot(path=OUTPUT / f"conversation-app-{theme}.png")
                if theme == "light" and os.environ.get("UPDATE_SCREENSHOTS") == "1":
                    README_SCREENSHOT.parent.mkdir(exist_ok=True)
                    await page.locator("#view").screenshot(path=README_SCREENSHOT)

                # Copy link, and Open in new tab through the host (ui/open-link).
                await frame.click("#copy")
                await _until(frame, "document.getElementById('msg').textContent.startsWith('Link copied')")
                await frame.click("#open")
                await page.wait_for_function("window.hostLinks.length === 1")
                assert await page.evaluate("window.hostLinks") == [join_url]

                # Keyboard: from the host page, Tab reaches End call, and Enter ends the call.
                await page.mouse.click(4, 4)
                for _ in range(6):
                    await page.keyboard.press("Tab")
                    if await _focused_id(frame) == "end":
                        break
                assert await _focused_id(frame) == "end"
                await page.keyboard.press("Enter")

                params, ended = await _relay_tool_call(hosted, mcp, "end_conversation")
                assert params == {"name": "end_conversation", "arguments": {"conversation_id": conversation_id}}
                assert not ended.is_error, text_of(ended)
                assert sandbox.emulator.conversations[conversation_id]["status"] == "ended"

                await _until(frame, "document.getElementById('status').textContent === 'Status: ended'")
                assert (await frame.inner_text("#msg")).startswith("Call ended")
                assert await frame.query_selector("#room iframe") is None
                assert not await frame.is_visible("#end")
                assert "ended" in await frame.inner_text("#note")
                assert await _focused_id(frame) == "note"
                await page.locator("#view").screenshot(path=OUTPUT / f"conversation-app-{theme}-ended.png")

                assert not [line for line in hosted.console if "Content Security Policy" in line]


@pytest.mark.browser
async def test_the_view_says_what_went_wrong(sandbox: Sandbox, browser: BrowserContext) -> None:
    async with connect(sandbox.settings()) as mcp:
        view = await _read_view(mcp)
        with _serve(view) as port:
            # The call could not be created: the tool's error text, and no call.
            arguments: dict[str, Any] = {"replica_id": UNTRAINED_REPLICA}
            failed = await mcp.call_tool("create_conversation", arguments)
            assert failed.is_error
            async with _host(browser, port, view, theme="light", tool_input=arguments, result=failed) as hosted:
                assert await hosted.view.inner_text("#note") == text_of(failed)
                assert await hosted.view.get_attribute("#note", "role") == "alert"
                assert await hosted.view.inner_text("#status") == "Status: not started"
                assert await hosted.view.query_selector("#room iframe") is None
                assert not await hosted.view.is_visible("#end")

            # Test mode, asked for or forced by the operator (then the arguments do not say so): created 'ended',
            # nobody will join, so a note instead of a call.
            asked: dict[str, Any] = {"replica_id": REPLICA, "conversation_name": "Dry run", "test_mode": True}
            async with connect(sandbox.settings(force_test_mode=True)) as forced_mcp:
                forced: dict[str, Any] = {"replica_id": REPLICA, "conversation_name": "Forced dry run"}
                dry_runs = [(asked, await mcp.call_tool("create_conversation", asked))]
                dry_runs.append((forced, await forced_mcp.call_tool("create_conversation", forced)))
            for arguments, dry_run in dry_runs:
                assert not dry_run.is_error and dry_run.structured_content is not None
                assert dry_run.structured_content["status"] == "ended"
                async with _host(browser, port, view, theme="dark", tool_input=arguments, result=dry_run) as hosted:
                    assert await hosted.view.inner_text("#status") == "Status: ended"
                    assert (await hosted.view.inner_text("#note")).startswith("Test mode")
                    assert await hosted.view.query_selector("#room iframe") is None
                    assert not await hosted.view.is_visible("#end")

            # The server's embedded sandbox (--sandbox): its rooms have no address, so a note instead of a dead frame.
            async with connect(Settings(sandbox=True).validated()) as sandboxed_mcp:
                arguments = {"replica_id": REPLICA, "conversation_name": "Sandboxed"}
                sandboxed = await sandboxed_mcp.call_tool("create_conversation", arguments)
            async with _host(browser, port, view, theme="light", tool_input=arguments, result=sandboxed) as hosted:
                assert await hosted.view.inner_text("#status") == "Status: waiting for you"
                assert (await hosted.view.inner_text("#note")).startswith("Sandbox: this conversation exists only")
                assert await hosted.view.query_selector("#room iframe") is None
                assert await hosted.view.is_visible("#end")

            arguments = {"replica_id": REPLICA, "conversation_name": "Deleted meanwhile"}
            created = await mcp.call_tool("create_conversation", arguments)
            assert created.structured_content is not None
            conversation_id = created.structured_content["conversation_id"]

            # A host that grants no camera or microphone: the call is still there, with the advice to open it.
            async with _host(
                browser, port, view, theme="light", tool_input=arguments, result=created, grant=False
            ) as hosted:
                assert await hosted.view.query_selector("#room iframe") is not None
                assert "use Open in new tab" in await hosted.view.inner_text("#note")

            # End call fails (the conversation was deleted meanwhile): the tool's error text, and the call stays.
            async with _host(browser, port, view, theme="light", tool_input=arguments, result=created) as hosted:
                deleted = await mcp.call_tool("delete_conversation", {"conversation_id": conversation_id})
                assert not deleted.is_error, text_of(deleted)
                await hosted.view.click("#end")
                _, refused = await _relay_tool_call(hosted, mcp, "end_conversation")
                assert refused.is_error
                await _until(hosted.view, "document.getElementById('msg').className === 'err'")
                assert await hosted.view.inner_text("#msg") == text_of(refused)
                assert await hosted.view.is_enabled("#end")
                assert await hosted.view.query_selector("#room iframe") is not None


@pytest.mark.browser
@pytest.mark.parametrize("message", [True, False], ids=["host-takes-messages", "host-without-messages"])
async def test_the_view_follows_the_call_and_offers_the_review(message: bool, browser: BrowserContext) -> None:
    """The sandbox plays the call through; the view follows it through the host, then offers the review."""
    async with connect(Settings(sandbox=True, sandbox_call_seconds=3.0).validated()) as mcp:
        view = await _read_view(mcp)
        arguments = {"replica_id": REPLICA, "conversation_name": "Played through"}
        created = await mcp.call_tool("create_conversation", arguments)
        assert created.structured_content is not None
        conversation_id = created.structured_content["conversation_id"]
        review = (
            f"Review my Tavus practice call {conversation_id}: read its transcript (get_conversation with verbose: "
            "true) and give me feedback."
        )
        with _serve(view) as port:
            async with _host(
                browser, port, view, theme="light", tool_input=arguments, result=created, message=message
            ) as hosted:
                frame = hosted.view
                assert await frame.inner_text("#status") == "Status: waiting for you"
                # Every label the view shows from now on, as it changes.
                await frame.evaluate(
                    """() => {
                      const status = document.getElementById('status');
                      window.seenStatus = [];
                      new MutationObserver(() => window.seenStatus.push(status.textContent))
                        .observe(status, {childList: true, characterData: true, subtree: true});
                    }"""
                )
                relayed = await _relay(hosted, mcp, lambda _, result: _stage(result) == "ready")
                assert {json.dumps(params, sort_keys=True) for params, _ in relayed} == {
                    json.dumps(
                        {
                            "name": "get_conversation",
                            "arguments": {"conversation_id": conversation_id, "verbose": True},
                        },
                        sort_keys=True,
                    )
                }
                await _until(frame, "document.getElementById('status').textContent === 'Status: ended'")
                seen = [label.removeprefix("Status: ") for label in await frame.evaluate("window.seenStatus")]
                order = ["waiting for you", "in progress", "ended"]
                assert [order.index(label) for label in seen] == sorted(order.index(label) for label in seen), seen
                assert seen[-1] == "ended"
                assert await frame.query_selector("#room iframe") is None
                assert not await frame.is_visible("#end")

                note = await frame.inner_text("#note")
                if message:
                    assert note == "This call has ended and its transcript is ready."
                    await frame.click("#review")
                    await hosted.page.wait_for_function("window.hostMessages.length === 1")
                    assert await hosted.page.evaluate("window.hostMessages") == [
                        {"role": "user", "content": [{"type": "text", "text": review}]}
                    ]
                    await _until(frame, "document.getElementById('msg').textContent !== ''")
                    assert await frame.inner_text("#msg") == "Asked your assistant to review the call."
                    await hosted.page.locator("#view").screenshot(path=OUTPUT / "conversation-app-review.png")
                else:
                    # Nothing to send it with: the view says what to ask.
                    ask = f"To review it, ask your assistant: “{review}”"
                    assert note == f"This call has ended and its transcript is ready. {ask}"
                    assert not await frame.is_visible("#review")

                # The transcript is ready: the view stops asking.
                await anyio.sleep(2.5)
                assert await hosted.page.evaluate("window.hostCalls.length") == 0


def _stage(result: CallToolResult) -> str:
    events = {event["event_type"] for event in (result.structured_content or {}).get("events", [])}
    return "ready" if "application.transcription_ready" in events else "not ready"
