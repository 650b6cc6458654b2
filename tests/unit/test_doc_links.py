"""Every relative link of the README, bench/README.md and docs/*.md points at a file that exists and, with `#anchor`, at a heading
that GitHub gives that anchor: a section renamed or a file moved fails here, in milliseconds, not in a reader's
browser. Links inside code blocks and to other sites are not followed."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
DOCUMENTS = [REPO / "README.md", REPO / "bench" / "README.md", *DOCS]
_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[(?:[^\]\n]|\][^(\n])*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose(text: str) -> str:
    """`text` without fenced code blocks (a link-like text in a code sample is not a link)."""
    return _FENCE.sub("", text)


def links(text: str) -> list[str]:
    """The targets of the Markdown links in `text`'s prose; inline code spans are not links either."""
    return _LINK.findall(_INLINE_CODE.sub("", prose(text)))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, inline markup dropped, punctuation other than `-` and `_`
    removed, spaces turned into `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a Markdown document; repeated headings get `-1`, `-2`, ... as on GitHub."""
    found: set[str] = set()
    for heading in _HEADING.findall(prose(text)):
        base = slug(heading)
        anchor, n = base, 0
        while anchor in found:
            n += 1
            anchor = f"{base}-{n}"
        found.add(anchor)
    return found


@pytest.mark.parametrize("heading, anchor", [
    pytest.param("1. IAM policy", "1-iam-policy", id="numbered"),
    pytest.param("Object details (`object_details`)", "object-details-object_details", id="code-and-brackets"),
    pytest.param('The setup test "Buckets send the events"', "the-setup-test-buckets-send-the-events", id="quotes"),
    pytest.param("EventBridge (`--eventbridge`)", "eventbridge---eventbridge", id="dashes-kept"),
    pytest.param("Regions, permissions, exit status", "regions-permissions-exit-status", id="commas"),
])
def test_slug_is_githubs_anchor(heading, anchor):
    assert slug(heading) == anchor


def test_repeated_headings_are_numbered_and_code_is_no_heading():
    text = "# A\n## Notes\n```sh\n# not a heading\n```\n## Notes\n"
    assert anchors(text) == {"a", "notes", "notes-1"}


def test_links_in_code_are_not_links():
    text = "See [x](a.md) and `[y](b.md)`.\n```md\n[z](c.md)\n```\n"
    assert links(text) == ["a.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_points_at_a_file_and_heading_that_exist(document: Path):
    broken = []
    for target in links(document.read_text(encoding="utf-8")):
        if _EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / unquote(path_part)).resolve() if path_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with that anchor in {linked.relative_to(REPO)}")
    assert not broken, f"{document.relative_to(REPO)}: " + "; ".join(broken)


def test_every_document_in_docs_is_linked_from_the_readme_or_another_document():
    reached = {(document.parent / target.partition("#")[0]).resolve()
               for document in DOCUMENTS for target in links(document.read_text(encoding="utf-8"))
               if not _EXTERNAL.match(target) and target.partition("#")[0]}
    assert not [d.name for d in DOCS if d.resolve() not in reached]
