"""The docs are true: every link between the project's pages leads to a file, and every #anchor to a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.snippets import ROOT, anchors

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
