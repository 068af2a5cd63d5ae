"""The public entry points: convert between ADF, wiki markup and HTML, reporting every loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .degrade import LossLog
from .model import Document, Loss

Format = Literal["adf", "wiki", "html"]
FORMATS: tuple[Format, ...] = ("adf", "wiki", "html")


@dataclass
class Canonical:
    """A parsed document and what parsing could not keep."""

    document: Document
    losses: list[Loss] = field(default_factory=list)


@dataclass
class Converted:
    """Content in the target format (an ADF dict or a string) and the losses that travel with it."""

    content: Any
    losses: list[Loss] = field(default_factory=list)

    @property
    def lossless(self) -> bool:
        return not self.losses


def to_canonical(content: Any, source: Format) -> Canonical:
    """Parse `content` in the `source` format into the canonical tree.

    Args:
        content: an ADF dict (or its JSON string) for "adf"; a string for "wiki" and "html".
        source: the format of `content`.

    Returns:
        The canonical document with the losses of parsing.

    Raises:
        ValueError: on an unknown format or content that is not a document of that format.
    """
    log = LossLog()
    if source == "adf":
        from .adf import parse_adf

        if isinstance(content, str):
            import json

            content = json.loads(content)
        doc = parse_adf(content, log)
    elif source == "wiki":
        from .wiki import parse_wiki

        doc = parse_wiki(_text(content), log)
    elif source == "html":
        from .html import parse_html

        doc = parse_html(_text(content), log)
    else:
        raise ValueError(f"unknown rich-text format {source!r}; expected one of {FORMATS}")
    return Canonical(doc, list(log))


def from_canonical(document: Document, target: Format) -> Converted:
    """Render the canonical tree in the `target` format (ADF dict, wiki string or sanitized HTML string)."""
    log = LossLog()
    if target == "adf":
        from .adf import render_adf

        content: Any = render_adf(document, log)
    elif target == "wiki":
        from .wiki import render_wiki

        content = render_wiki(document, log)
    elif target == "html":
        from .html import render_html

        content = render_html(document, log)
    else:
        raise ValueError(f"unknown rich-text format {target!r}; expected one of {FORMATS}")
    return Converted(content, list(log))


def convert(content: Any, source: Format, target: Format) -> Converted:
    """Convert rich text between formats; anything the target cannot hold is degraded visibly and reported.

    Args:
        content: the document in the `source` format.
        source: "adf", "wiki" or "html".
        target: "adf", "wiki" or "html".

    Returns:
        The converted content and the losses of both parsing and rendering.
    """
    parsed = to_canonical(content, source)
    rendered = from_canonical(parsed.document, target)
    return Converted(rendered.content, parsed.losses + rendered.losses)


def _text(content: Any) -> str:
    if content is None:
        return ""
    if not isinstance(content, str):
        raise ValueError(f"expected a string, got {type(content).__name__}")
    return content
