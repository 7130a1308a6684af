"""The book's translations: one source notebook per chapter, its prose in every language next to it.

For each chapter ``solutions/<chapter>/<chapter>.ipynb`` (English, the one source of code and tests):

``solutions/<chapter>/i18n/<lang>.md``
    the chapter's markdown cells in ``lang``, one block per cell, each headed by the cell's id and a
    hash of the English text it translates::

        <!-- cell: cell-003 en: 0123456789ab -->
        ## 1.1 뇌세포에서 공식으로
        ...

``solutions/<chapter>/i18n/<lang>.po``
    a GNU gettext catalog of the strings in the chapter's code that a learner reads: the hints and
    messages of its test cells (``hint="..."``, ``check(condition, "...")``) and the figure and widget
    labels its demo cells mark with ``gettext("...")``.

:func:`problems` lists what keeps a translation from being built: a cell without a translation
(*missing*), a cell whose English changed after it was translated (*stale*: the hash differs), a
translation of a cell that is gone, a string of the code without an entry in the catalog, an entry
for a string the code no longer has. ``nnbook-build`` refuses to build (and ``--check`` fails) while
any is listed. The Korean edition is ``chapters-ko/``: the same notebooks, by the same
``nbgrader generate_assignment``, from a source whose markdown cells are the translation.

Hidden tests' strings go into the chapter's catalog like all others, but only the strings of visible
code are compiled into the library's public catalog ``nnbook/locale/<lang>/LC_MESSAGES/nnbook.mo``;
the grader reads the rest from ``solutions/`` when it grades (see :func:`hidden_catalog`).
"""
from __future__ import annotations

import ast
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from ..cells import is_test

LANGUAGES = ("ko",)                 # besides English, the source
EDITION_DIRS = {"en": "chapters", "ko": "chapters-ko"}
MARKER = re.compile(r"^<!-- cell: (?P<id>[A-Za-z0-9_-]+) en: (?P<hash>[0-9a-f]{12}) -->[ \t]*$", re.M)
HIDDEN_BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
# the calls of nnbook.testing whose message / hint a learner reads: name -> index of a message argument
MESSAGE_ARG = {"check": 1}
MARK_FUNCTIONS = {"_", "gettext", "tr"}


def text_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``text``: what a translation block was made from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def i18n_dir(source: Path) -> Path:
    return source.parent / "i18n"


# ----------------------------------------------------------------------------- prose (.md)
@dataclass
class Block:
    cell_id: str
    en_hash: str
    text: str


def parse_prose(text: str) -> dict[str, Block]:
    """``{cell id: Block}`` from a ``<lang>.md`` file; text before the first marker is a comment."""
    blocks: dict[str, Block] = {}
    marks = list(MARKER.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end():end].strip("\n")
        if m["id"] in blocks:
            raise ValueError(f"cell {m['id']} is translated twice")
        blocks[m["id"]] = Block(m["id"], m["hash"], body)
    return blocks


def prose_template(nb, rel_source: str, old: dict[str, Block] | None = None) -> str:
    """A ``<lang>.md`` for ``nb``: every markdown cell's block, the old translation where it is still
    current, else the English text to translate (marked ``TRANSLATE``)."""
    old = old or {}
    out = [f"<!-- translation of {rel_source}: one block per markdown cell, headed by its id and the hash "
           "of the English it translates (nnbook-build checks them) -->\n"]
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        h = text_hash(cell.source)
        block = old.get(cell.get("id"))
        body = block.text if block and block.en_hash == h else "TRANSLATE\n" + cell.source
        out.append(f"<!-- cell: {cell.get('id')} en: {h} -->\n{body}\n")
    return "\n".join(out)


# ----------------------------------------------------------------------------- strings (.po)
def _po_unquote(s: str) -> str:
    s = s.strip()
    if not (len(s) >= 2 and s[0] == s[-1] == '"'):
        raise ValueError(f"not a quoted string: {s[:60]!r}")
    return ast.literal_eval(s) if "\\" in s else s[1:-1]


def parse_po(text: str) -> dict[str, str]:
    """``{msgid: msgstr}`` of a gettext ``.po`` file (no plurals, no contexts). Fuzzy or empty entries
    are left out: a fuzzy translation is one that has to be looked at again."""
    entries: dict[str, str] = {}
    current: dict | None = None          # {"msgid": ..., "msgstr": ..., "fuzzy": ...}
    field = None
    fuzzy_next = False

    def flush():
        if current and current.get("msgid") and current.get("msgstr") and not current["fuzzy"]:
            entries[current["msgid"]] = current["msgstr"]

    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        try:
            if not line:
                continue
            if line.startswith("#"):
                fuzzy_next = fuzzy_next or (line.startswith("#,") and "fuzzy" in line)
                continue
            if line.startswith("msgid "):
                flush()
                current, field = {"msgid": _po_unquote(line[6:]), "msgstr": "", "fuzzy": fuzzy_next}, "msgid"
                fuzzy_next = False
            elif line.startswith("msgstr ") and current is not None:
                current["msgstr"], field = _po_unquote(line[7:]), "msgstr"
            elif line.startswith('"') and current is not None and field:
                current[field] += _po_unquote(line)
            else:
                raise ValueError(f"cannot read {line[:40]!r}")
        except (ValueError, SyntaxError) as e:
            raise ValueError(f"line {lineno}: {e}") from None
    flush()
    return entries


def po_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def write_mo(entries: dict[str, str]) -> bytes:
    """A GNU ``.mo`` file (what ``msgfmt`` writes, without its optional hash table) for ``entries``."""
    table = {"": "Content-Type: text/plain; charset=UTF-8\n", **entries}
    keys = sorted(table)
    ids = [k.encode("utf-8") for k in keys]
    strs = [table[k].encode("utf-8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    offsets, blob = [], b""
    for s in ids:
        offsets.append((len(s), start + len(blob)))
        blob += s + b"\0"
    tr_offsets = []
    for s in strs:
        tr_offsets.append((len(s), start + len(blob)))
        blob += s + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    out += b"".join(struct.pack("<2I", *o) for o in offsets)
    out += b"".join(struct.pack("<2I", *o) for o in tr_offsets)
    return out + blob


# ----------------------------------------------------------------------------- strings of the code
def _hidden_lines(source: str) -> set[int]:
    hidden, inside = set(), False
    for lineno, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN.match(line):
            inside = True
        elif HIDDEN_END.match(line):
            inside = False
        elif inside:
            hidden.add(lineno)
    return hidden


def _literals(node) -> list[str]:
    """The strings ``node`` may be: a literal, or either branch of ``"a" if cond else "b"``."""
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return [node.value]
    return []


def is_prose(s: str) -> bool:
    """Words a learner reads, not code: a string with a space and a letter that is not a Python
    expression ("sigmoid(z) for z of shape (3,)" is prose, "weighted_sum(x, w, b)" and "AND" are code)."""
    if not re.search(r"\s", s.strip()) or not re.search(r"[A-Za-z]", s):
        return False
    try:
        ast.parse(s.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return True
    return False


def _fstring_text(node: ast.JoinedStr) -> str:
    """An f-string with each ``{value}`` replaced by a name: what it reads like."""
    return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)


# where a message is written without nnbook.testing: the string given to these must be tr(...) or gettext(...)
DIRECT_OUTPUT = {"print", "AssertionError", "ValueError", "TypeError", "RuntimeError"}
# what a demo cell shows a learner in words: printed lines, figure text and labels, widget descriptions,
# progress bars (tqdm's desc)
SHOWN = {"print", "set_title", "set_xlabel", "set_ylabel", "suptitle", "text", "annotate", "title", "xlabel",
         "ylabel", "legend", "set_text", "set_label"}
SHOWN_KEYWORDS = {"label", "description", "title", "xlabel", "ylabel", "tooltip", "placeholder", "desc"}
_ENGLISH_WORD = re.compile(r"(?<![\w.])[A-Za-z][a-z]{2,}(?![\w(.])")


def reads_as_english(s: str) -> bool:
    """A demo cell's printed line or label that has English words in it ("samples per class:", "target
    y = 2", "inputs:"), not code or an equation ("np.dot(w, x) + b =", "step(z)", "$f(x) = x^2/2 - \\sin 2x$")."""
    text = re.sub(r"\$[^$]*\$|`[^`]*`", " ", s).strip()
    try:
        code = not isinstance(ast.parse(text.rstrip(":=, \n"), mode="eval").body, ast.Name)   # "inputs:" is a word
    except (SyntaxError, ValueError):
        code = False
    return not code and bool(_ENGLISH_WORD.search(text))


def _code_cells(nb):
    """``(cell, source, tree)`` of each code cell that parses (IPython's ``%`` and ``!`` lines left out)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            yield cell, source, ast.parse(source)
        except SyntaxError:
            continue


def _call_name(node: ast.Call) -> str | None:
    """``f`` of ``f(...)`` and of ``obj.f(...)``."""
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)


def _text(node) -> str | None:
    """What a string literal or an f-string (its values as ``x``) reads like; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return _fstring_text(node) if isinstance(node, ast.JoinedStr) else None


def _untranslatable_in_test(tree) -> list[tuple[int, str]]:
    found = [(node.lineno, _fstring_text(node)) for node in ast.walk(tree)
             if isinstance(node, ast.JoinedStr) and is_prose(_fstring_text(node))]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in DIRECT_OUTPUT:
            found += [(a.lineno, a.value) for a in node.args
                      if isinstance(a, ast.Constant) and isinstance(a.value, str) and is_prose(a.value)]
    return found


def _untranslatable_in_demo(tree) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            shown = [*(node.args if _call_name(node) in SHOWN else ()),
                     *(k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS)]
            found += [(a.lineno, _text(a)) for a in shown if _text(a) and reads_as_english(_text(a))]
    return found


def untranslatable(nb) -> list[tuple[str, int, str]]:
    """``(cell, line, text)`` of words a learner reads that no catalog can translate. In graded test cells:
    an f-string that reads as prose (its values change, so it cannot be a msgid: ``tr("... {name} ...",
    name=...)`` can), or a prose literal printed or raised directly (``print("...")``,
    ``AssertionError("...")``), which reaches the learner without ``gettext``. In the other code cells: a
    printed line, a figure's text or label or a widget's description in English words (see
    :func:`reads_as_english`), literal or f-string, not given through ``gettext``/``tr``."""
    out = []
    for cell, _source, tree in _code_cells(nb):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
        found = _untranslatable_in_test(tree) if is_test(cell) else _untranslatable_in_demo(tree)
        out += [(gid, line, text) for line, text in sorted(found, key=lambda f: f[0])]   # in line order
    return out


def code_strings(nb) -> dict[str, bool]:
    """``{string: visible}`` of the chapter's translatable strings: in graded test cells, every prose
    string but docstrings (the ``what`` of ``check_close(z, 1.0, "weighted_sum with all weights 0")``,
    a hint, a message, a ``tr("...")`` template, a hint a helper returns; see :func:`is_prose`), and
    every hint, even one that reads as code, kept in a variable too; in
    any code cell, ``gettext("...")``, ``tr("...")`` (or ``_("...")``); ``visible`` is False for a string
    only hidden tests have."""
    found: dict[str, bool] = {}
    for cell, source, tree in _code_cells(nb):
        hidden = _hidden_lines(source)
        test = is_test(cell)
        # a hint kept in a variable (HINT = "..."; check_close(..., hint=HINT)) is a hint too
        hint_names = {k.value.id for node in ast.walk(tree) if test and isinstance(node, ast.Call)
                      for k in node.keywords if k.arg == "hint" and isinstance(k.value, ast.Name)}
        if test:
            # every other sentence of a test cell is a message too (a helper's `return "hint ..."`, a
            # table of hints): it reaches the learner through nnbook.testing, which looks it up; not
            # docstrings (the cell's source, not a message) nor the pieces of an f-string
            not_messages = {id(n.body[0].value) for n in ast.walk(tree)
                            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                            and n.body and isinstance(n.body[0], ast.Expr)
                            and isinstance(n.body[0].value, ast.Constant)}
            not_messages |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
            # a string compared with (`"encountered in" in str(w.message)`) is data, not a message
            not_messages |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.Compare)
                             for v in (n.left, *n.comparators)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in not_messages
                        and is_prose(node.value)):
                    found[node.value] = found.get(node.value, False) or node.lineno not in hidden
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in hint_names):
                for s in _literals(node.value):
                    found[s] = found.get(s, False) or node.lineno not in hidden
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            strings = []
            if name in MARK_FUNCTIONS and node.args:
                strings += _literals(node.args[0])
            if test:
                strings += [s for k in node.keywords if k.arg == "hint" for s in _literals(k.value)]
                if name in MESSAGE_ARG and len(node.args) > MESSAGE_ARG[name]:
                    strings += _literals(node.args[MESSAGE_ARG[name]])
                strings += [s for a in [*node.args, *(k.value for k in node.keywords if k.arg != "hint")]
                            for s in _literals(a) if is_prose(s)]
            for s in strings:
                found[s] = found.get(s, False) or node.lineno not in hidden
    return found


# ----------------------------------------------------------------------------- the checks
@dataclass
class Translation:
    lang: str
    prose: dict[str, Block]
    strings: dict[str, str]


def load(source: Path, lang: str) -> Translation | None:
    """The chapter's translation into ``lang``, or None when it has none at all."""
    d = i18n_dir(source)
    md, po = d / f"{lang}.md", d / f"{lang}.po"
    if not md.exists() and not po.exists():
        return None
    prose = parse_prose(md.read_text(encoding="utf-8")) if md.exists() else {}
    strings = parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
    return Translation(lang, prose, strings)


def problems(nb, source: Path, rel_source: str, lang: str) -> list[str]:
    """What is missing or stale in the chapter's translation into ``lang`` (empty: it can be built)."""
    rel_dir = f"{rel_source.rsplit('/', 1)[0]}/i18n"
    try:
        t = load(source, lang)
    except ValueError as e:
        return [f"{rel_dir}/{lang}.*: cannot be read: {e}"]
    if t is None:
        return [f"{rel_source}: no {lang} translation ({rel_dir}/{lang}.md and {lang}.po are missing); "
                f"`nnbook-build --translate {lang} {source.stem}` writes one to fill in"]
    out = []
    cells = {c.get("id"): c for c in nb.cells if c.cell_type == "markdown"}
    for cid, cell in cells.items():
        block = t.prose.get(cid)
        first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        if block is None:
            out.append(f"{rel_dir}/{lang}.md: missing translation of markdown cell {cid} ({first!r})")
        elif block.en_hash != text_hash(cell.source):
            out.append(f"{rel_dir}/{lang}.md: stale translation of cell {cid} ({first!r}): its English changed "
                       f"after it was translated (translated from {block.en_hash}, now {text_hash(cell.source)}); "
                       f"translate the change and update the hash (`nnbook-build --translate {lang} "
                       f"{source.stem}` marks what to redo)")
        elif not block.text.strip() or block.text.lstrip().startswith("TRANSLATE"):
            out.append(f"{rel_dir}/{lang}.md: cell {cid} is not translated yet")
    for cid in t.prose.keys() - cells.keys():
        out.append(f"{rel_dir}/{lang}.md: translates cell {cid}, which is no longer a markdown cell of {rel_source}")
    for gid, line, text in untranslatable(nb):
        out.append(f"{rel_source}: {gid}, line {line}: the message {text[:60]!r} cannot be translated: "
                   "write tr(\"... {name} ...\", name=value) (an f-string is a new string for every value), "
                   "or gettext(\"...\") for a message printed or raised directly")
    wanted = code_strings(nb)
    for s in wanted:
        if s not in t.strings:
            out.append(f"{rel_dir}/{lang}.po: missing translation of {s[:70]!r}")
    for s in t.strings.keys() - wanted.keys():
        out.append(f"{rel_dir}/{lang}.po: stale entry {s[:70]!r}: the chapter's code no longer has this string")
    return out


def translated_notebook(nb, t: Translation):
    """A copy of the source notebook in ``t.lang``: markdown cells translated, code untouched, and
    ``metadata.nnbook.lang`` saying which edition it is."""
    import copy
    new = copy.deepcopy(nb)
    for cell in new.cells:
        if cell.cell_type == "markdown":
            cell.source = t.prose[cell.get("id")].text
    new.metadata.setdefault("nnbook", {})["lang"] = t.lang
    return new


def po_template(nb, old: dict[str, str] | None = None) -> str:
    """A ``<lang>.po`` for the chapter's strings: old translations kept, new ones empty."""
    old = old or {}
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for s, visible in code_strings(nb).items():
        out += ([] if visible else ["#. only in hidden tests"]) + [f"msgid {po_quote(s)}",
                                                                    f"msgstr {po_quote(old.get(s, ''))}", ""]
    return "\n".join(out)


def hidden_catalog(course_root: Path, chapter: str, lang: str, folder: Path | None = None) -> dict[str, str]:
    """The chapter's whole catalog in ``lang`` (hidden tests' strings too), for the grader; {} if none.
    ``folder``: the chapter's source folder when it is not ``<course_root>/solutions/<chapter>``."""
    po = Path(folder or Path(course_root) / "solutions" / chapter) / "i18n" / f"{lang}.po"
    try:
        return parse_po(po.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
