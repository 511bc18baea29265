"""The docs are true: every link between the project's pages leads to a file, and every #anchor to a heading."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.snippets import ROOT, anchors, code_blocks, without_python

PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target), outside code; a target with a scheme (https:, mailto:) is another site's.
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [first or second for first, second in _LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_link_between_pages_resolves(page: Path) -> None:
    local = [target for target in links(page) if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]
    for target in local:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} names no file"
        if anchor:
            assert linked.suffix == ".md", f"{page.name}: {target}: an anchor in a file that is not a page"
            assert anchor in anchors(linked), f"{page.name}: {target}: no heading {anchor!r} in {linked.name}"


def test_the_link_check_sees_the_links() -> None:
    # The README links to its own sections and to the docs: a check that found none would check nothing.
    readme = links(ROOT / "README.md")
    assert "#quick-start" in readme and "docs/team.md" in readme
    assert "quick-start" in anchors(ROOT / "README.md")


def test_a_broken_anchor_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Two words\n\nSee [there](#two-words) and [nowhere](#no-such-heading).\n")
    assert anchors(page) == {"title", "two-words"}
    assert [target for target in links(page) if target.lstrip("#") not in anchors(page)] == ["#no-such-heading"]


# Recipes work where they are pasted: on a machine with python3 and no python

RECIPE_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = sorted((ROOT / "tavus_mcp").rglob("*.py"))
# The SHA-256 of nothing: what a recipe whose token command failed writes into a users file.
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_no_page_and_no_message_calls_python_by_a_name_that_may_not_exist() -> None:
    """`python` is missing where only `python3` exists (Debian, Ubuntu, macOS): recipes and the server's own
    hints (http.TOKEN_HINT, users.HASH_HINT, ...) name `python3`, or need no Python."""
    for path in [*RECIPE_PAGES, *SOURCES]:
        # A source's comment may tell the story of the missing `python`; what it says to people may not use it.
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not (path.suffix == ".py" and line.lstrip().startswith("#")))
        assert not re.search(r"(?<![\w/.-])python -c\b", text), f"{path.relative_to(ROOT)} calls `python -c`"


def _token_recipes() -> list[tuple[str, str]]:
    """Every way the pages make a token: whole blocks, the token lines of blocks that go on to start a server, and
    the commands quoted in running text."""
    recipes = []
    for page in RECIPE_PAGES:
        for block in code_blocks(page):
            if block.lang != "bash" or "secrets.token_urlsafe" not in block.body:
                continue
            lines = [line for line in block.body.splitlines() if "secrets.token_urlsafe" in line]
            body = block.body if "mcp-server-tavus" not in block.body else "\n".join(lines) + "\n"
            recipes.append((f"{page.name}:{block.line}", body))
        text = page.read_text(encoding="utf-8")
        for number, quoted in enumerate(re.findall(r"`([^`\n]*secrets\.token_urlsafe[^`\n]*)`", text), 1):
            recipes.append((f"{page.name}:inline{number}", quoted + "\n"))
    return recipes


@pytest.mark.parametrize(("where", "recipe"), _token_recipes(), ids=[where for where, _ in _token_recipes()])
def test_each_token_recipe_runs_where_only_python3_exists(where: str, recipe: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-e", "-c", recipe],
        env=without_python(tmp_path, TAVUS_MCP_AUTH_TOKENS=""),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), f"{where}:\n{recipe}\n{done.stderr}"
    assert EMPTY_SHA256 not in done.stdout
    digest = re.search(r'token_sha256 = "([0-9a-f]{64})"', done.stdout)
    if digest:  # the users file's line: the SHA-256 of a real token
        assert digest.group(1) != EMPTY_SHA256


def test_the_token_recipes_are_found() -> None:
    where = [where for where, _ in _token_recipes()]
    assert any(name.startswith("team.md") for name in where), where
    assert any(name.startswith("deployment.md") for name in where), where
