"""The one output limiter: what learner code prints is cut to a size a feedback page can hold.

Standard library only: this file is copied into the sandbox next to ``kernel.py`` and ``wire.py``.
"""

MAX_TEXT = 64 * 1024       # characters of captured output per cell or per call
MAX_LINE = 2000            # characters per line


def limit_text(text, limit=MAX_TEXT, max_line=MAX_LINE, dropped=0):
    """``text`` with over-long lines cut and the whole cut to ``limit``; each cut says how much it hid.

    ``dropped`` counts characters already discarded before they reached ``text`` (a bounded sink)."""
    lines = []
    for line in text.split("\n"):
        if len(line) > max_line:
            line = line[:max_line] + f" ... [{len(line) - max_line} more characters not shown]"
        lines.append(line)
    text = "\n".join(lines)
    if len(text) > limit:
        dropped += len(text) - limit
        text = text[:limit]
    if dropped:
        text += f"\n... [output limit: {dropped} more characters not shown]\n"
    return text


def was_cut(text):
    return "more characters not shown]" in text
