"""Token strings are untrusted text: every way they reach a page goes through here.

`token_html` makes a token safe in Markdown (tables included) and HTML at once: every
character that is not a letter, digit or plain non-ASCII printable becomes a numeric
entity, so neither Markdown (`|`, `*`, backticks, brackets) nor HTML (`<script>`) can
read syntax into it. Whitespace and control characters are shown as visible marks drawn
by CSS, so the page text (and the search index) keeps the token's own characters.
"""

from __future__ import annotations

import html
import unicodedata
from typing import Any

# characters drawn as a visible mark; the mark comes from CSS (`.ws-*::before`)
_MARKS = {" ": "sp", "\n": "nl", "\t": "tab", "\r": "cr"}
_MARK_CHARS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def _invisible(ch: str) -> bool:
    """Control, format, unassigned and separator characters other than the plain space:
    shown by code point, since they would otherwise be invisible or break lines."""
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (cat == "Zs" and ch != " ")


def _char(ch: str) -> str:
    if ch in _MARKS:
        return f'<span class="ws ws-{_MARKS[ch]}">&#{ord(ch)};</span>'
    if _invisible(ch):
        return f'<span class="ws ctl" title="U+{ord(ch):04X}">U+{ord(ch):04X}</span>'
    if ch.isascii() and not ch.isalnum():
        return f"&#{ord(ch)};"
    return ch


def token_html(token: str) -> str:
    """One token as inline HTML, safe inside Markdown tables and HTML.

    The common case, one leading space (`" dog"`), is a class rather than a span, which
    keeps pages with thousands of tokens light to build and to index."""
    if token == "":
        return '<code class="tok"><span class="ws ctl">∅</span></code>'
    cls = "tok"
    if len(token) > 1 and token[0] == " " and token[1] != " ":
        cls, token = "tok lsp", token[1:]
    return f'<code class="{cls}">' + "".join(_char(ch) for ch in token) + "</code>"


def tokens_html(tokens: list[str], limit: int | None = None) -> str:
    """A list of tokens in one element: marks are literal characters, so a real space only
    ever separates two tokens (one element per list keeps big tables fast to build)."""
    shown = list(tokens)[: limit or None]
    return '<code class="toks">' + " ".join(_compact(t) for t in shown) + "</code>"


def _stand_in(ch: str) -> str | None:
    """The visible mark of a whitespace or invisible character; None for any other."""
    if ch in _MARK_CHARS:
        return _MARK_CHARS[ch]
    if _invisible(ch):
        return f"U+{ord(ch):04X}"
    return None


def _compact(token: str) -> str:
    if token == "":
        return "∅"
    out = []
    for ch in token:
        mark = _stand_in(ch)
        if mark is not None:
            out.append(mark)
        elif ch.isascii() and not ch.isalnum():
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def token_plain(token: str) -> str:
    """A token for plain-text places (plot hovers, titles): marks visible, HTML escaped."""
    shown = "".join(_stand_in(ch) or ch for ch in token)
    return html.escape(shown or "∅", quote=True)


def md_text(text: str) -> str:
    """Arbitrary text (titles, ids) escaped for Markdown and HTML."""
    return "".join(
        f"&#{ord(c)};" if c.isascii() and not c.isalnum() and c not in " .,:-_/()" else c
        for c in html.unescape(text)
    )


def heading_words(tokens: list[str], n: int = 3) -> str:
    """Up to n tokens made of letters and digits only, for titles (anything else is skipped)."""
    words = [t.strip() for t in tokens if t.strip().isalnum()]
    return ", ".join(words[:n])


def members_block(members: list[Any]) -> str:
    """Member features as one preformatted block (one element for any number of rows keeps
    big pages cheap to build and index): id (linked to its card), cosine to the family,
    ART match (or founder; a dash for methods without ART diagnostics), how many of its own
    top tokens are the family's (0 marks an outlier), own tokens."""
    lines = [f"{'feature':>8}  {'cos':>5}  {'match':>7}  {'shared':>6}  own top tokens"]
    for m in members:
        match = "–" if m.founder is None else "founder" if m.founder else f"{m.match:.2f}"
        shared = "–" if m.shared is None else str(m.shared)
        toks = " ".join(_compact(t) for t in m.tokens)
        fid = f"{m.feature:>8}"
        if m.link:
            fid = (
                f'{" " * (8 - len(str(m.feature)))}<a href="{html.escape(m.link)}">{m.feature}</a>'
            )
        lines.append(f"{fid}  {m.cos:5.2f}  {match:>7}  {shared:>6}  {toks}")
    return '<pre class="saetax-members" data-search-exclude>' + "\n".join(lines) + "</pre>"
