"""The documentation is in the repository (a plain clone has it all): every
relative link in README.md and docs/ points at a file inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_resolves_inside_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in _LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
            assert path.exists(), f"{page.name} links to a missing file: {target}"
            checked += 1
    assert checked >= 10


def test_the_docs_cover_what_a_team_needs() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    for page in ("commands.md", "scorecard.md", "escalations.md", "operating.md"):
        assert f"({page})" in index
    assert "\n## Metrics\n" in index
    readme = (ROOT / "README.md").read_text()
    steps = readme.split("## Create the Slack app", 1)[1].split("\n## ", 1)[0]
    order = [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "Channel ID",
        "CSBOT_ADMINS",
        "Verified",
        "csbot doctor",
    ]
    positions = [steps.index(word) for word in order]
    assert positions == sorted(positions), "the Slack steps are out of the order a person does them"
