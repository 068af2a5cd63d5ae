"""The nh3 policy for HTML written to Azure DevOps: only the tags and attributes the renderer emits."""

from __future__ import annotations

TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "strike", "code",
    "pre", "a", "sub", "sup", "span", "ul", "ol", "li", "blockquote", "table", "thead", "tbody", "tr", "th",
    "td", "hr", "img", "div", "details", "summary",
}
ATTRIBUTES = {
    "a": {"href", "title", "data-vss-mention"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "span": {"style"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
DROP_WITH_CONTENT = {"script", "style"}


def sanitize(html: str) -> str:
    """Strip everything script-like (tags, on* handlers, javascript: URLs, styles other than colours)."""
    import nh3  # lazily: only rendering HTML needs it

    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"color", "background-color"},
        link_rel="noopener noreferrer",
    )
