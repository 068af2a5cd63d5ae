"""Jira wiki markup inline syntax: marks, links, mentions, images, emoticons and escaping."""

from __future__ import annotations

import re

from .degrade import LossLog, atom_fallback, emoji_label
from .emoji import BY_SHORT_NAME, EMOTICONS, emoticon_at
from .model import MARK_ORDER, Atom, Emoji, HardBreak, Image, Inline, Mark, Mention, Text

DELIMS = {"strong": "*", "em": "_", "underline": "+", "strike": "-", "sup": "^", "sub": "~"}
BY_DELIM = {v: k for k, v in DELIMS.items()}
ALWAYS_ESCAPED = set("{}[]|")
COLOR_OPEN = re.compile(r"\{color:([^}]*)\}")
BRACED = re.compile(r"\{([*_+\-^~]|\?\?)\}")
ENTITY = re.compile(r"&#(\d{1,7});")
LINE_START_BLOCK = re.compile(r"(h[1-6]|bq)\.")


def _word(ch: str) -> bool:
    return ch.isalnum()


def _space(ch: str) -> bool:
    return ch == "" or ch.isspace()


# ---------------------------------------------------------------- parse


def parse_inline(text: str, log: LossLog) -> list[Inline]:
    """Parse one block's inline wiki markup into canonical inline nodes."""
    return _merge(_parse(text, 0, len(text), (), log))


def _merge(nodes: list[Inline]) -> list[Inline]:
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, Text) and out and isinstance(out[-1], Text) and out[-1].marks == node.marks:
            out[-1] = Text(out[-1].text + node.text, node.marks)
        elif not (isinstance(node, Text) and not node.text):
            out.append(node)
    return out


def _skip(s: str, j: int, end: int) -> int:
    """Index just past an atomic construct at j (escape, link, monospace, emoticon), or j when none."""
    if s[j] == "\\" and j + 1 < end:
        return j + 2
    if s[j] == "[":
        close = find_unescaped(s, "]", j + 1, end)
        return close + 1 if close != -1 else j
    if s.startswith("{{", j):
        close = find_unescaped(s, "}}", j + 2, end)
        return close + 2 if close != -1 else j
    token = emoticon_at(s, j)
    return j + len(token) if token else j


def find_unescaped(s: str, needle: str, start: int, end: int) -> int:
    """First unescaped `needle` in s[start:end] on the same line, or -1."""
    j = start
    while j < end:
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == "\n":
            return -1
        if s.startswith(needle, j) and j + len(needle) <= end:
            return j
        j += 1
    return -1


def _closer(s: str, delim: str, start: int, end: int) -> int:
    j = start
    while j < end:
        if s[j] == "\n":
            return -1
        if s.startswith(delim, j) and j > start and not _space(s[j - 1]):
            after = s[j + len(delim)] if j + len(delim) < end else ""
            if not _word(after):
                return j
        nxt = _skip(s, j, end)
        j = nxt if nxt != j else j + 1
    return -1


def _parse(s: str, i: int, end: int, marks: tuple[Mark, ...], log: LossLog) -> list[Inline]:
    out: list[Inline] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append(Text("".join(buf), marks))
            buf.clear()

    def nested(start: int, stop: int, mark: Mark) -> None:
        flush()
        out.extend(_parse(s, start, stop, marks + (mark,), log))

    while i < end:
        ch = s[i]
        prev = s[i - 1] if i > 0 else ""
        nxt = s[i + 1] if i + 1 < end else ""
        if s.startswith("\\\\", i):
            flush()
            out.append(HardBreak())
            i += 2
            continue
        if ch == "\\" and nxt and not nxt.isalnum() and not nxt.isspace():
            buf.append(nxt)
            i += 2
            continue
        if ch == "\n":
            flush()
            out.append(HardBreak())
            i += 1
            continue
        if ch == "&":
            entity = ENTITY.match(s, i, end)
            if entity:
                buf.append(chr(int(entity.group(1))))
                i = entity.end()
                continue
        if s.startswith("{{", i):
            close = find_unescaped(s, "}}", i + 2, end)
            if close > i + 2:
                nested(i + 2, close, Mark("code"))
                i = close + 2
                continue
        if ch == "{":
            color = COLOR_OPEN.match(s, i, end)
            if color:
                close = s.find("{color}", color.end(), end)
                if close != -1:
                    nested(color.end(), close, Mark("color", color.group(1).strip()))
                    i = close + len("{color}")
                    continue
            braced = BRACED.match(s, i, end)
            if braced:
                close = s.find(braced.group(0), braced.end(), end)
                if close > braced.end():
                    delim = braced.group(1)
                    mark = Mark("em") if delim == "??" else Mark(BY_DELIM[delim])  # type: ignore[arg-type]
                    nested(braced.end(), close, mark)
                    i = close + len(braced.group(0))
                    continue
        if ch == "[":
            close = find_unescaped(s, "]", i + 1, end)
            if close > i + 1:
                flush()
                out.extend(_link(s[i + 1:close], marks, log))
                i = close + 1
                continue
        if ch == "!" and not _word(prev) and nxt and not nxt.isspace():
            close = find_unescaped(s, "!", i + 1, end)
            if close > i + 1 and not s[close - 1].isspace():
                flush()
                out.append(_image(s[i + 1:close]))
                i = close + 1
                continue
        token = emoticon_at(s, i)
        if token:
            flush()
            short, text, emoji_id = EMOTICONS[token]
            out.append(Emoji(short, text, emoji_id))
            i += len(token)
            continue
        delim = "??" if s.startswith("??", i) else ch if ch in BY_DELIM else ""
        if delim and not _word(prev) and i + len(delim) < end and not s[i + len(delim)].isspace():
            close = _closer(s, delim, i + len(delim), end)
            if close != -1:
                mark = Mark("em") if delim == "??" else Mark(BY_DELIM[delim])  # type: ignore[arg-type]
                nested(i + len(delim), close, mark)
                i = close + len(delim)
                continue
        buf.append(ch)
        i += 1
    flush()
    return out


def _split_bar(body: str) -> list[str]:
    parts, cur, j = [], [], 0
    while j < len(body):
        if body[j] == "\\" and j + 1 < len(body):
            cur.append(body[j:j + 2])
            j += 2
            continue
        if body[j] == "|":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(body[j])
        j += 1
    parts.append("".join(cur))
    return parts


def _link(body: str, marks: tuple[Mark, ...], log: LossLog) -> list[Inline]:
    parts = _split_bar(body)
    target = parts[-1].strip() if len(parts) > 1 else parts[0].strip()
    alias = parts[0] if len(parts) > 1 else ""
    if target.startswith("~"):
        ident = target[1:]
        if ident.startswith("accountid:"):
            mention = Mention(ident[len("accountid:"):], "", "accountid")
        else:
            mention = Mention(ident, "", "username")
        if alias:
            mention.text = alias if alias.startswith("@") else "@" + alias
        return [mention]
    if target.startswith("^"):
        log.add("attachment-link", f"link to attachment {target[1:]!r} kept as text")
        return [Text(alias or target[1:], marks)]
    if target.startswith("#") or not target:
        return [Text(alias or target, marks)]
    link = Mark("link", target)
    if alias:
        return _parse(alias, 0, len(alias), marks + (link,), log)
    return [Text(target, marks + (link,))]


def _image(body: str) -> Image:
    src, _, params = body.partition("|")
    image = Image(src=src.strip())
    for param in filter(None, (p.strip() for p in params.split(","))):
        key, _, value = param.partition("=")
        value = value.strip().strip('"')
        if key.strip() == "alt":
            image.alt = value
        elif key.strip() in ("width", "height") and value.rstrip("px").isdigit():
            setattr(image, key.strip(), int(value.rstrip("px")))
    return image


# ---------------------------------------------------------------- render

_OPEN = 0
_CLOSE = 1
_TEXT = 2
_RAW = 3


def render_inline(children: list[Inline], log: LossLog) -> str:
    """Render inline nodes as wiki markup that parses back to the same nodes."""
    tokens = _tokens(children, log)
    return _emit(tokens)


def _wiki_marks(marks: tuple[Mark, ...], log: LossLog, text: str) -> list[Mark]:
    keep = []
    for mark in sorted(set(marks), key=lambda m: MARK_ORDER.index(m.kind)):
        if mark.kind == "background":
            log.add("mark", f"background colour not supported in wiki: dropped on {text[:40]!r}")
        elif mark.kind == "annotation":
            log.add("mark", f"inline comment anchor not supported in wiki: dropped on {text[:40]!r}")
        else:
            keep.append(mark)
    return keep


def _tokens(children: list[Inline], log: LossLog) -> list[tuple[int, object]]:
    tokens: list[tuple[int, object]] = []
    stack: list[Mark] = []

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            tokens.append((_CLOSE, stack.pop()))

    for node in children:
        if isinstance(node, Atom):
            log.add(node.kind, f"ADF {node.kind} rendered as text {node.text!r}")
            node = atom_fallback(node)
        if isinstance(node, Text) and _bare_link(node):
            close_to(0)
            tokens.append((_RAW, "[" + _url(node.text) + "]"))
            continue
        if isinstance(node, Text):
            for index, line in enumerate(node.text.split("\n")):
                if index:
                    close_to(0)
                    tokens.append((_RAW, "\\\\"))
                if not line:
                    continue
                core = line.strip()
                if not core:
                    close_to(0)
                    tokens.append((_TEXT, line))
                    continue
                lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()):]
                marks = _wiki_marks(node.marks, log, line) if core else []
                if lead:
                    close_to(0)
                    tokens.append((_TEXT, lead))
                depth = 0
                while depth < len(stack) and depth < len(marks) and stack[depth] == marks[depth]:
                    depth += 1
                if lead or trail:
                    depth = 0 if lead else depth
                close_to(depth)
                for mark in marks[depth:]:
                    stack.append(mark)
                    tokens.append((_OPEN, mark))
                tokens.append((_TEXT, core))
                if trail:
                    close_to(0)
                    tokens.append((_TEXT, trail))
            continue
        close_to(0)
        if isinstance(node, HardBreak):
            tokens.append((_RAW, "\\\\"))
        elif isinstance(node, Mention):
            tokens.append((_RAW, _mention(node, log)))
        elif isinstance(node, Emoji):
            token = BY_SHORT_NAME.get(node.short_name)
            if token and node.text in ("", EMOTICONS[token][1]):
                tokens.append((_RAW, token))
            else:
                if not node.text:
                    log.add("emoji", f"emoji {node.short_name} has no wiki emoticon: written as its short name")
                tokens.append((_TEXT, emoji_label(node)))
        elif isinstance(node, Image):
            tokens.append((_RAW, _image_markup(node, log)))
    close_to(0)
    return tokens


def _bare_link(node: Text) -> bool:
    """A link whose text is its own URL, written as [url]."""
    return (len(node.marks) == 1 and node.marks[0].kind == "link" and node.marks[0].value == node.text
            and not node.marks[0].title and _url(node.text) == node.text and node.text.strip() == node.text)


def _url(url: str) -> str:
    return url.replace("|", "%7C").replace("]", "%5D").replace(" ", "%20")


def _mention(node: Mention, log: LossLog) -> str:
    if node.scheme == "username":
        markup = f"[~{node.id}]"
    else:
        markup = f"[~accountid:{node.id}]"
    if node.text:
        log.add("mention-name", f"wiki mentions carry the user id only; Jira shows the name for {node.text!r}",
                node.text)
    return markup


def _image_markup(node: Image, log: LossLog) -> str:
    src = node.src
    if not src:
        src = node.alt or node.media_id
        log.add("media-reference", f"ADF attachment {node.media_id} referenced by name {src!r}")
    src = src.replace("!", "%21").replace("|", "%7C").replace("\n", " ")
    params = []
    if node.alt and node.alt != src:
        params.append(f'alt="{node.alt.replace(chr(34), "").replace("!", "").replace("|", "")}"')
    params += [f"{k}={v}" for k, v in (("width", node.width), ("height", node.height)) if v]
    return f"!{src}|{','.join(params)}!" if params else f"!{src}!"


def _open_syntax(mark: Mark, braced: bool) -> str:
    if mark.kind == "link":
        return "["
    if mark.kind == "code":
        return "{{"
    if mark.kind == "color":
        return "{color:" + mark.value.replace("}", "") + "}"
    delim = DELIMS[mark.kind]
    return "{" + delim + "}" if braced else delim


def _close_syntax(mark: Mark, braced: bool) -> str:
    if mark.kind == "link":
        return "|" + _url(mark.value) + "]"
    if mark.kind == "code":
        return "}}"
    if mark.kind == "color":
        return "{color}"
    delim = DELIMS[mark.kind]
    return "{" + delim + "}" if braced else delim


def _first_char(tokens: list[tuple[int, object]], start: int) -> str:
    for kind, value in tokens[start:]:
        if kind in (_TEXT, _RAW) and value:
            return str(value)[0]
        if kind in (_OPEN, _CLOSE):
            return "*"  # any delimiter: not a word character
    return ""


def _emit(tokens: list[tuple[int, object]]) -> str:
    out: list[str] = []
    last = ""
    braced: dict[int, bool] = {}
    opened: list[int] = []
    blank_line = True
    for index, (kind, value) in enumerate(tokens):
        if kind == _OPEN:
            # find the matching close to know the character after it
            depth, close = 0, len(tokens)
            for j in range(index + 1, len(tokens)):
                if tokens[j][0] == _OPEN:
                    depth += 1
                elif tokens[j][0] == _CLOSE:
                    if depth == 0:
                        close = j
                        break
                    depth -= 1
            after = _first_char(tokens, close + 1)
            nxt = tokens[index + 1] if index + 1 < len(tokens) else (_RAW, "")
            head = str(nxt[1])[:1] if nxt[0] in (_TEXT, _RAW) else DELIMS.get(str(getattr(nxt[1], "kind", "")), "{")
            mark_kind = getattr(value, "kind", None) or ""
            list_like = last == "" and mark_kind in ("strong", "strike") and head != "" and head in "*#-"
            use_braces = _word(last) or _word(after) or list_like
            braced[index] = use_braces
            opened.append(index)
            piece = _open_syntax(value, use_braces)  # type: ignore[arg-type]
        elif kind == _CLOSE:
            piece = _close_syntax(value, braced[opened.pop()])  # type: ignore[arg-type]
        elif kind == _RAW:
            piece = str(value)
        else:
            piece = escape(str(value), "" if blank_line else last, _first_char(tokens, index + 1))
        if piece:
            out.append(piece)
            last = piece[-1]
            tail = piece.rsplit("\n", 1)[-1]
            blank_line = not tail.strip() if "\n" in piece else blank_line and not tail.strip()
    return "".join(out)


def escape(text: str, before: str = "", after: str = "") -> str:
    """Escape wiki syntax in plain text, given the characters around it in the output."""
    out: list[str] = []
    at_start = before in ("", "\n")
    for i, ch in enumerate(text):
        prev = out[-1][-1] if out else before
        nxt = text[i + 1] if i + 1 < len(text) else after
        at_start = at_start and (not out or out[-1].isspace())
        if ch == "\\":
            out.append("&#92;" if nxt and not nxt.isalnum() and not nxt.isspace() or not nxt else "\\")
        elif ch == "&" and nxt == "#":
            out.append("&#38;")
        elif ch in ALWAYS_ESCAPED or at_start and ch in "*#-":
            out.append("\\" + ch)
        elif at_start and LINE_START_BLOCK.match(text, i):
            dot = text.index(".", i)
            out.append(text[i:dot] + "\\.")
            return "".join(out) + escape(text[dot + 1:], ".", after)
        elif ch in BY_DELIM or (ch == "?" and "?" in (prev, nxt)):
            opener = not _word(prev) and not _space(nxt)
            closer = not _space(prev) and not _word(nxt)
            out.append("\\" + ch if opener or closer else ch)
        elif ch == "!" and not _word(prev) and not _space(nxt):
            out.append("\\!")
        elif ch in ":;(" and (emoticon_at(text + after, i) or (ch == "(" and i == len(text) - 1 and after)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
