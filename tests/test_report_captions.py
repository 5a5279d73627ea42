"""Report captions (experiments/report/*.rst) render without docutils warnings, as `snakemake --report` does.

Snakemake renders each caption with Jinja2 and then ``docutils.core.publish_parts(..., writer_name="html")``;
any docutils system message (a title underline shorter than its title, ``|x|`` read as an undefined
substitution, ...) ends up in the report.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = sorted((ROOT / "experiments" / "report").glob("*.rst"))


def docutils_messages(text: str) -> str:
    """Every docutils message (level >= info) raised while rendering ``text`` as snakemake does."""
    import docutils.core
    import jinja2

    rendered = jinja2.Environment().from_string(text).render(snakemake=None, categories=None, files=None)
    stream = io.StringIO()
    docutils.core.publish_parts(rendered, writer="html",
                                settings_overrides={"warning_stream": stream, "report_level": 1})
    return stream.getvalue()


def test_checker_reports_a_short_underline() -> None:
    assert "underline too short" in docutils_messages("A title\n------\n\nText.\n")


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_warnings(path: Path) -> None:
    assert docutils_messages(path.read_text(encoding="utf-8")) == ""
