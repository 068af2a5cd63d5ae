"""Jira wiki emoticons and the ADF emoji (shortName, text, id) each stands for."""

from __future__ import annotations

# wiki token -> (ADF shortName, unicode text, ADF emoji id)
EMOTICONS: dict[str, tuple[str, str, str]] = {
    ":)": (":slight_smile:", "🙂", "1f642"),
    ":(": (":slight_frown:", "🙁", "1f641"),
    ":P": (":stuck_out_tongue:", "😛", "1f61b"),
    ":D": (":grinning:", "😀", "1f600"),
    ";)": (":wink:", "😉", "1f609"),
    "(y)": (":thumbsup:", "👍", "1f44d"),
    "(n)": (":thumbsdown:", "👎", "1f44e"),
    "(i)": (":information_source:", "ℹ️", "2139"),
    "(/)": (":white_check_mark:", "✅", "2705"),
    "(x)": (":x:", "❌", "274c"),
    "(!)": (":warning:", "⚠️", "26a0"),
    "(+)": (":heavy_plus_sign:", "➕", "2795"),
    "(-)": (":heavy_minus_sign:", "➖", "2796"),
    "(?)": (":question:", "❓", "2753"),
    "(on)": (":bulb:", "💡", "1f4a1"),
    "(*)": (":star:", "⭐", "2b50"),
    "(flag)": (":triangular_flag_on_post:", "🚩", "1f6a9"),
}
# Longest first so "(flag)" wins over shorter tokens.
TOKENS: tuple[str, ...] = tuple(sorted(EMOTICONS, key=len, reverse=True))
BY_SHORT_NAME: dict[str, str] = {short: token for token, (short, _, _) in EMOTICONS.items()}


def emoticon_at(text: str, index: int) -> str | None:
    """The emoticon token starting at `index`, if any."""
    for token in TOKENS:
        if text.startswith(token, index):
            return token
    return None
