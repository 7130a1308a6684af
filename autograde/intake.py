"""Reading submissions, whatever the instructor downloaded: every path from an upload to the grader.

``collect(source, chapters, work)`` takes a folder or a zip and lays out a *staged copy* in
nbgrader's own layout, ``work/intake/submitted/<learner>/<chapter>/`` (plus ``timestamp.txt``
where a submission time is known), which the pipeline then grades. Layouts understood:

* **nbgrader**: ``[submitted/]<learner>/<chapter>/<files>`` (what ``nbgrader collect`` /
  ``zip_collect`` make), its ``timestamp.txt`` kept; or a zip of it (at its top, inside one
  folder, or the learner folders directly).
* **Canvas** bulk download ("Download Submissions"): a flat folder or zip of files named
  ``<name>[_late]_<user id>_<submission id>_<original file name>`` (Canvas lower-cases the name,
  drops its spaces and punctuation, and adds ``-1``, ``-2`` to a re-submitted file's name).
* **Moodle** "Download all submissions": one folder per learner,
  ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` (``..._onlinetext_`` folders are
  ignored), zipped or unpacked.
* **flat**: ``<learner>_<chapter>.ipynb`` (or ``<chapter>_<learner>.ipynb``, ``-`` also allowed).

The three flat layouts are matched by :class:`nbgrader.plugins.FileNameCollectorPlugin`
subclasses (:class:`CanvasCollector`, :class:`MoodleCollector`, :class:`FlatCollector`): the
same plug-ins work with stock ``nbgrader zip_collect``
(``--ZipCollectApp.collector_plugin=autograde.intake.CanvasCollector``).

Everything in an upload is hostile data. Only regular files are read, through ``O_NOFOLLOW``
descriptors: symbolic links, hard links (a file with more than one link could be another
learner's notebook or the solutions), fifos, sockets and devices are refused with a note for
that learner. Zips are read with caps (:class:`Caps`: total size, number of entries, size per
entry, compression ratio) counted on the bytes actually decompressed; absolute paths, ``..``,
links and encrypted entries in a zip are refused. Learner names that cannot be nbgrader
student ids (trailing spaces, slashes, control characters, a leading ``=``/``-``/``.``, ...) are
given a safe id and a note; none of this stops the batch. Finding no learner at all is an error
(:class:`NoSubmissions`) that says which layouts were looked for and what was there.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import default

STATE = ".nnbook"               # inside the output's course/: what earlier runs learned
NOT_GRADED = "not graded: nbgrader recorded no submission"   # course.read_results
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"   # what nbgrader writes into timestamp.txt


class NoSubmissions(Exception):
    """No learner's submission was found; the message lists the layouts looked for."""


@dataclass
class Caps:
    """Limits for reading an upload (bytes actually read, not what a zip header claims)."""
    total_bytes: int = 1024 * 1024 * 1024     # the whole upload, unpacked
    entries: int = 20_000                     # files in a zip
    entry_bytes: int = 64 * 1024 * 1024       # one file
    ratio: float = 200.0                      # unpacked / packed size of one zip entry (over 1 MB)
    files_per_learner: int = 500


@dataclass
class Learner:
    id: str                                   # safe nbgrader student id (folder name, gradebook)
    raw: str                                  # the name as found in the upload
    name: str = ""                            # display name (the LMS's full name, if it has one)
    lms_id: str = ""                          # Canvas user id / Moodle participant id
    source: str = ""                          # Canvas | Moodle | nbgrader | flat
    notes: list[str] = field(default_factory=list)
    times: dict[str, str] = field(default_factory=dict)       # chapter -> ISO time (UTC)
    time_source: dict[str, str] = field(default_factory=dict)  # chapter -> where the time came from
    late_flag: dict[str, bool] = field(default_factory=dict)   # chapter -> the LMS marked it late


@dataclass
class Intake:
    layout: str
    submitted: Path
    learners: dict[str, Learner]
    refused: dict[str, str] = field(default_factory=dict)     # raw name -> why nothing could be graded
    notes: list[str] = field(default_factory=list)            # about the upload as a whole


# ----------------------------------------------------------------------------- nbgrader collector plug-ins
CANVAS_RE = (r"(?:.*/)?(?P<student_id>[^/_]+?)(?P<late>_late|_LATE)?_(?P<lms_id>\d+)_(?P<submission_id>\d+)_"
             r"(?P<file_id>[^/]+)$")
MOODLE_RE = r"(?:.*/)?(?P<student_id>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_file_?/(?P<file_id>.+)$"


class _Collector(FileNameCollectorPlugin):
    def collect(self, submitted_file: str):
        path = submitted_file.replace(os.sep, "/")
        if os.path.splitext(path)[1] not in self.valid_ext:
            return None
        m = re.match(self.named_regexp, path)
        if not m:
            return None
        info = {k: v for k, v in m.groupdict().items() if v is not None}
        # nbgrader zip_collect names the collected file after file_id: drop Canvas's "-1" re-submission mark
        info["original_file"] = info["file_id"]
        info["file_id"] = re.sub(r"-\d+(\.ipynb)$", r"\1", info["file_id"])
        return info


class CanvasCollector(_Collector):
    """Canvas's bulk-download names: ``<name>[_late]_<user id>_<submission id>_<file>``."""

    @default("named_regexp")
    def _named_regexp_default(self):
        return CANVAS_RE


class MoodleCollector(_Collector):
    """Moodle's "Download all submissions" folders: ``<Full Name>_<id>_assignsubmission_file_/<file>``."""

    @default("named_regexp")
    def _named_regexp_default(self):
        return MOODLE_RE


class FlatCollector(_Collector):
    """``<learner>_<chapter>.ipynb`` or ``<chapter>_<learner>.ipynb`` (``_`` or ``-``)."""

    chapters: list[str] = []

    def collect(self, submitted_file: str):
        base = submitted_file.replace(os.sep, "/").rsplit("/", 1)[-1]
        if os.path.splitext(base)[1] not in self.valid_ext:
            return None
        stem = base[: -len(".ipynb")]
        for ch in sorted(self.chapters, key=len, reverse=True):
            m = re.fullmatch(rf"(?P<student_id>.+?)[_\- ]+{re.escape(ch)}(?:[-_ ].*)?", stem) or \
                re.fullmatch(rf"{re.escape(ch)}[_\- ]+(?P<student_id>.+)", stem)
            if m:
                return {"student_id": m["student_id"], "file_id": f"{ch}.ipynb", "chapter": ch}
        return None


# ----------------------------------------------------------------------------- names
_UNSAFE = re.compile(r"[^\w.@+-]+")


def safe_id(raw: str, taken: set[str]) -> tuple[str, str | None]:
    """A usable nbgrader student id for ``raw`` and, when it differs, why."""
    text = unicodedata.normalize("NFC", raw)
    why = []
    if text != text.strip():
        why.append("leading or trailing spaces")
    if any(unicodedata.category(c).startswith("C") for c in text):
        why.append("control characters")
    if "/" in text or "\\" in text:
        why.append("slashes")
    clean = "".join(c for c in text.strip() if not unicodedata.category(c).startswith("C"))
    if clean[:1] in ("=", "+", "-", "@", ".", "_"):
        why.append(f"a leading {clean[0]!r}")
    sid = _UNSAFE.sub("_", clean).lstrip("=+-@._").rstrip("._")[:64]
    if not sid:
        sid = "learner-" + hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        why.append("no usable characters")
    elif sid != text and not why:
        why.append("characters nbgrader cannot use in a student id")
    base, n = sid, 2
    while sid.lower() in {t.lower() for t in taken}:
        sid = f"{base}-{n}"
        n += 1
        why.append("the same id as another learner")
    return sid, (", ".join(why) if sid != raw else None)


# ----------------------------------------------------------------------------- plain files only
def _refusal(path: Path) -> str | None:
    """Why ``path`` is not a plain file of the upload (None: it is one)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"is a symbolic link (to {target!r}); submissions must be plain files"
    if stat.S_ISDIR(st.st_mode):
        return None
    if stat.S_ISFIFO(st.st_mode):
        return "is a named pipe (fifo), not a file"
    if stat.S_ISSOCK(st.st_mode):
        return "is a socket, not a file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "is a device, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_nlink > 1:
        return (f"is a hard link ({st.st_nlink} names for one file: it could be another learner's or the "
                "course's file); submissions must be plain files")
    return None


def _copy_plain(src: Path, dest: Path, caps: Caps, budget: list[int]) -> str | None:
    """Copy one regular file without following links; return why not, if not."""
    why = _refusal(src)
    if why:
        return why
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(src, flags)
    except OSError as e:
        return f"cannot be opened ({e.strerror})"
    try:
        st = os.fstat(fd)                     # the file opened, not the name checked (no race)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
            return "changed into something that is not a plain file while being read"
        if st.st_size > caps.entry_bytes:
            return f"is {st.st_size / 2**20:.0f} MB, more than the {caps.entry_bytes / 2**20:.0f} MB allowed per file"
        if budget[0] + st.st_size > caps.total_bytes:
            return "is past the size limit of the whole upload"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(fd, "rb", closefd=False) as f, open(dest, "wb") as out:
            n = 0
            while chunk := f.read(1 << 16):
                n += len(chunk)
                if n > caps.entry_bytes:
                    break
                out.write(chunk)
        if n > caps.entry_bytes:
            dest.unlink()
            return "grew past the size limit per file while being read"
        budget[0] += n
        os.utime(dest, (st.st_mtime, st.st_mtime))
        return None
    finally:
        os.close(fd)


def _plain_tree(src: Path, dest: Path, caps: Caps, budget: list[int], label: str) -> list[str]:
    """Copy the regular files under ``src`` into ``dest``; notes for whatever was refused."""
    notes = []
    count = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rootp = Path(root)
        for d in list(dirs):
            why = _refusal(rootp / d)
            if why:
                notes.append(f"{label}/{(rootp / d).relative_to(src)} {why}; ignored")
                dirs.remove(d)
            elif d.startswith(".") or d == "__MACOSX":
                dirs.remove(d)
        for name in sorted(files):
            p = rootp / name
            rel = p.relative_to(src)
            if name.startswith(".") and _refusal(p) is None:
                continue                      # .DS_Store, .ipynb_checkpoints files and the like
            if count >= caps.files_per_learner:
                notes.append(f"{label}: more than {caps.files_per_learner} files; the rest were ignored")
                return notes
            why = _copy_plain(p, dest / rel, caps, budget)
            if why:
                notes.append(f"{label}/{rel} {why}; not graded")
            else:
                count += 1
    return notes


# ----------------------------------------------------------------------------- zips
def safe_extract(zip_path: Path, dest: Path, caps: Caps) -> list[tuple[str, str]]:
    """Unpack ``zip_path`` into ``dest`` within ``caps``; ``(entry name, why refused)`` for the rest."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    refused: list[tuple[str, str]] = []
    total = 0
    seen: set[str] = set()
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
        if len(infos) > caps.entries:
            refused.append(("(the zip)", f"has {len(infos)} entries; only the first {caps.entries} were read"))
            infos = infos[: caps.entries]
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            mode = info.external_attr >> 16 if info.create_system == 3 else 0    # Unix mode bits, if any
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                refused.append((name, "points outside the upload (absolute path or '..'); refused"))
                continue
            parts = [p for p in parts if p not in ("", ".")]
            if not parts or parts[0] == "__MACOSX":
                continue
            if any("\x00" in p for p in parts):
                refused.append((name, "has a NUL character in its name; refused"))
                continue
            target = dest.joinpath(*parts)
            if not str(target.resolve()).startswith(str(dest.resolve()) + os.sep):
                refused.append((name, "points outside the upload; refused"))
                continue
            if info.is_dir() or name.endswith("/"):
                if not stat.S_IFMT(mode) or stat.S_ISDIR(mode):
                    target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)   # a refused file still shows whose it was
            if stat.S_ISLNK(mode):
                refused.append((name, "is a symbolic link inside the zip; submissions must be plain files"))
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                refused.append((name, "is not a regular file (device, fifo or the like) inside the zip; refused"))
                continue
            if info.flag_bits & 0x1:
                refused.append((name, "is encrypted; cannot be read"))
                continue
            if info.file_size > caps.entry_bytes:
                refused.append((name, f"unpacks to {info.file_size / 2**20:.0f} MB, more than the "
                                      f"{caps.entry_bytes / 2**20:.0f} MB allowed per file; refused"))
                continue
            if info.file_size > 2**20 and info.file_size > caps.ratio * max(info.compress_size, 1):
                refused.append((name, f"is compressed {info.file_size / max(info.compress_size, 1):.0f} to 1 "
                                      f"(a zip bomb?); more than {caps.ratio:.0f} to 1 is refused"))
                continue
            key = "/".join(parts).lower()
            if key in seen:
                refused.append((name, "appears twice in the zip; the first copy was kept"))
                continue
            seen.add(key)
            n, why = 0, None
            try:
                with z.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        n += len(chunk)
                        if n > caps.entry_bytes:
                            why = f"unpacks to more than {caps.entry_bytes / 2**20:.0f} MB; refused"
                        elif total + n > caps.total_bytes:
                            why = f"goes past the {caps.total_bytes / 2**20:.0f} MB limit of the whole upload; refused"
                        elif n > 2**20 and n > caps.ratio * max(info.compress_size, 1):
                            why = f"is compressed more than {caps.ratio:.0f} to 1 (a zip bomb?); refused"
                        if why:
                            break
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
                why = f"cannot be unpacked ({type(e).__name__}: {e})"
            if why:
                target.unlink(missing_ok=True)
                refused.append((name, why))
                continue
            total += n
            y, mo, d, h, mi, s = info.date_time
            try:
                t = dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.timezone.utc).timestamp()
                os.utime(target, (t, t))
            except (ValueError, OverflowError, OSError):
                pass
    return refused


# ----------------------------------------------------------------------------- layouts
JUNK = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", ".git", ".Trash", "Thumbs.db", "desktop.ini"}


def _listdir(p: Path, hidden: bool = False) -> list[Path]:
    """Entries of ``p`` without junk (and without dot-names unless ``hidden``)."""
    try:
        return sorted(x for x in p.iterdir() if x.name not in JUNK and (hidden or not x.name.startswith(".")))
    except OSError:
        return []


def _descend(root: Path, chapters: list[str]) -> Path:
    """Skip wrappers: ``submitted/``, or one lone folder around everything."""
    for _ in range(4):
        sub = root / "submitted"
        if sub.is_dir() and not sub.is_symlink():
            return sub
        kids = _listdir(root)
        if len(kids) == 1 and kids[0].is_dir() and not kids[0].is_symlink() \
                and not re.search(r"_assignsubmission_file_?$", kids[0].name) and not _nbgrader_like(root, chapters):
            root = kids[0]
            continue
        break
    return root


def _nbgrader_like(root: Path, chapters: list[str] | None) -> bool:
    for d in _listdir(root):
        if d.is_dir() and not d.is_symlink():
            for c in _listdir(d):
                if (chapters is None or c.name in chapters) and (c.is_dir() or c.is_symlink()):
                    return True
    return False


def _timestamp_from(path: Path) -> tuple[str | None, str | None]:
    """(ISO time, problem) from an nbgrader ``timestamp.txt``, read as a plain, small file."""
    if _refusal(path):
        return None, f"timestamp.txt {_refusal(path)}; ignored"
    try:
        text = path.read_bytes()[:200].decode("utf-8", "replace").strip()
        from nbgrader.utils import parse_utc
        return parse_utc(text).replace(tzinfo=dt.timezone.utc).isoformat(), None
    except Exception:  # noqa: BLE001 - any unreadable timestamp is reported, not raised
        return None, f"timestamp.txt does not hold a time ({text[:40]!r}); ignored"


def _mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(os.lstat(path).st_mtime, dt.timezone.utc).isoformat()


class _Stager:
    def __init__(self, dest: Path, caps: Caps):
        self.dest = dest
        self.caps = caps
        self.budget = [0]
        self.learners: dict[str, Learner] = {}
        self.by_raw: dict[tuple[str, str], str] = {}
        self.refused: dict[str, str] = {}

    def learner(self, raw: str, source: str, name: str = "", lms_id: str = "") -> Learner:
        key = (raw, lms_id)
        if key in self.by_raw:
            return self.learners[self.by_raw[key]]
        sid, why = safe_id(raw, set(self.learners))
        ln = Learner(sid, raw, name or raw.strip(), lms_id, source)
        if why:
            ln.notes.append(f"the name {raw!r} cannot be an nbgrader student id ({why}); graded as {sid!r}")
        self.learners[sid] = ln
        self.by_raw[key] = sid
        return ln

    def folder(self, ln: Learner, chapter: str) -> Path:
        return self.dest / ln.id / chapter


def _stage_nbgrader(root: Path, chapters: list[str], st: _Stager) -> None:
    for d in _listdir(root, hidden=True):
        why = _refusal(d)
        if why:
            st.refused[d.name] = f"the learner folder {d.name!r} {why}"
            continue
        if not d.is_dir():
            continue
        ln = st.learner(d.name, "nbgrader")
        for c in _listdir(d):
            if c.name not in chapters:
                continue
            why = _refusal(c)
            if why:
                ln.notes.append(f"{c.name}/ {why}; not graded")
                continue
            if not c.is_dir():
                continue
            target = st.folder(ln, c.name)
            target.mkdir(parents=True, exist_ok=True)
            notes = _plain_tree(c, target, st.caps, st.budget, c.name)
            ts = target / "timestamp.txt"
            if ts.exists():
                iso, problem = _timestamp_from(ts)
                ts.unlink()
                if problem:
                    ln.notes.append(f"{c.name}: {problem}")
                if iso:
                    ln.times[c.name], ln.time_source[c.name] = iso, "timestamp.txt"
            elif (c / "timestamp.txt").exists() or os.path.lexists(c / "timestamp.txt"):
                ln.notes.append(f"{c.name}: timestamp.txt {_refusal(c / 'timestamp.txt') or 'unreadable'}; ignored")
            ln.notes.extend(notes)


def _chapter_of(file_id: str, chapters: list[str]) -> tuple[str | None, str | None]:
    """Which chapter a submitted file belongs to (longest chapter name it contains)."""
    stem = Path(file_id).name
    for ch in sorted(chapters, key=len, reverse=True):
        if ch.lower() in stem.lower():
            return ch, None
    if len(chapters) == 1:
        return chapters[0], f"file {stem!r} names no chapter; graded as {chapters[0]}"
    return None, f"file {stem!r} names none of the chapters {', '.join(chapters)}; ignored"


def _resubmission(file_id: str) -> int:
    m = re.search(r"-(\d+)\.ipynb$", file_id)
    return int(m[1]) if m else 0


def _stage_flat(entries: list[tuple[Path, dict]], chapters: list[str], st: _Stager, source: str) -> None:
    """Files matched by a collector plug-in -> staged nbgrader layout (one notebook per chapter)."""
    chosen: dict[tuple[str, str], tuple[Path, dict, Learner]] = {}
    for path, info in entries:
        raw = info["student_id"]
        name = raw
        if source == "Moodle":
            name = raw.replace("_", " ")
        ln = st.learner(raw, source, name=name, lms_id=info.get("lms_id", ""))
        why = _refusal(path)
        if why:
            ln.notes.append(f"{path.name} {why}; not graded")
            continue
        ch = info.get("chapter")
        info["named"] = ch is not None
        if ch is None:
            ch, note = _chapter_of(info["file_id"], chapters)
            info["named"] = note is None
            if ch is None:
                ln.notes.append(note)
                continue
            if note:
                info["note"] = note
        if info.get("late"):
            ln.late_flag[ch] = True
        key = (ln.id, ch)
        if key in chosen:
            old = chosen[key]
            def rank(p, i):      # a file named after the chapter first, then the latest (re)submission
                return (i["named"], _resubmission(i.get("original_file", i["file_id"])), os.lstat(p).st_mtime)
            newer = rank(path, info) > rank(old[0], old[1])
            keep, drop = ((path, info, ln), old) if newer else (old, (path, info, ln))
            how = "the latest" if keep[1]["named"] == drop[1]["named"] else f"the one named after {ch}"
            a, b = (x[1].get("original_file", x[1]["file_id"]) for x in (drop, keep))
            ln.notes.append(f"{ch}: several files ({a}, {b}); graded {how}, {b}")
            chosen[key] = keep
        else:
            chosen[key] = (path, info, ln)
    for (sid, ch), (path, info, ln) in chosen.items():
        target = st.folder(ln, ch)
        target.mkdir(parents=True, exist_ok=True)
        why = _copy_plain(path, target / f"{ch}.ipynb", st.caps, st.budget)
        if why:
            ln.notes.append(f"{info['file_id']} {why}; not graded")
            continue
        if info.get("note"):
            ln.notes.append(info["note"])
        elif Path(info["file_id"]).name != f"{ch}.ipynb" and not info.get("chapter"):
            ln.notes.append(f"{ch}: submitted as {Path(info['file_id']).name!r}")
        ln.times[ch] = _mtime(path)
        ln.time_source[ch] = f"{source} file time"


def _flat_entries(root: Path, collector) -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = "/" + path.relative_to(root).as_posix()
        info = collector.collect(rel)
        if info:
            found.append((path, info))
    return found


LAYOUTS = ("nbgrader's submitted/<learner>/<chapter>/<chapter>.ipynb (or a zip of it)",
           "Canvas bulk download: <name>[_late]_<user id>_<submission id>_<file>.ipynb",
           "Moodle download: <Full Name>_<id>_assignsubmission_file_/<file>.ipynb",
           "flat: <learner>_<chapter>.ipynb or <chapter>_<learner>.ipynb")


def collect(source: Path, chapters: list[str], work: Path, *, students: list[str] | None = None,
            caps: Caps | None = None) -> Intake:
    """Stage the submissions in ``source`` (folder or zip) for ``chapters`` under ``work/intake``."""
    caps = caps or Caps()
    source = Path(source)
    work = Path(work)
    dest = work / "intake" / "submitted"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    zip_notes: list[tuple[str, str]] = []
    if source.is_file() and zipfile.is_zipfile(source):
        try:
            zip_notes = safe_extract(source, work / "intake" / "unzipped", caps)
        except zipfile.BadZipFile as e:
            raise NoSubmissions(f"{source} is not a readable zip ({e})") from None
        root = work / "intake" / "unzipped"
    elif source.is_dir():
        root = source
    elif source.exists():
        raise NoSubmissions(f"{source} is neither a folder nor a zip")
    else:
        raise NoSubmissions(f"{source} does not exist")
    root = _descend(root, chapters)
    st = _Stager(dest, caps)
    layout = ""
    collector = None
    if _nbgrader_like(root, chapters):
        layout = "nbgrader"
        _stage_nbgrader(root, chapters, st)
    else:
        for name, collector in (("Moodle", MoodleCollector()), ("Canvas", CanvasCollector())):
            entries = _flat_entries(root, collector)
            if entries:
                layout = name
                _stage_flat(entries, chapters, st, name)
                break
        collector = collector if layout else None
        if not layout:
            flat = FlatCollector()
            flat.chapters = list(chapters)
            entries = _flat_entries(root, flat)
            if entries:
                layout, collector = "flat", flat
                _stage_flat(entries, chapters, st, "flat")
    # notes from unpacking go to the learner whose file it was
    batch_notes = []
    for entry, why in zip_notes:
        owner = next((ln for ln in st.learners.values()
                      if ln.raw and (entry.split("/")[0] == ln.raw or f"/{ln.raw}/" in f"/{entry}"
                                     or entry.rsplit("/", 1)[-1].startswith(ln.raw + "_"))), None)
        if owner is None and collector is not None and ".." not in entry.split("/"):
            info = collector.collect("/" + entry)          # a learner whose only file was refused
            if info:
                owner = st.learner(info["student_id"], layout, lms_id=info.get("lms_id", ""))
        (owner.notes if owner else batch_notes).append(f"zip entry {entry!r} {why}")
    learners = st.learners
    if students:
        wanted = {}
        for s in students:
            hit = learners.get(s) or next((ln for ln in learners.values() if s in (ln.raw, ln.name, ln.lms_id)), None)
            if hit is None:
                raise NoSubmissions(f"--student {s!r}: no such learner in {source} (found: "
                                    + ", ".join(sorted(learners)[:20]) + (" ..." if len(learners) > 20 else "") + ")")
            wanted[hit.id] = hit
        for sid in set(learners) - set(wanted):
            shutil.rmtree(dest / sid, ignore_errors=True)
        learners = wanted
    if not learners:
        seen = [repr(p.name) for p in _listdir(root)[:8]]
        raise NoSubmissions(
            f"no learner's submission for {', '.join(chapters)} found in {source}. Layouts looked for:\n  "
            + "\n  ".join(LAYOUTS)
            + f"\nfound there: {', '.join(seen) or 'nothing'}"
            + ("".join(f"\n  refused: {k!r}: {v}" for k, v in list(st.refused.items())[:8]))
            + ("".join(f"\n  zip: {e!r} {w}" for e, w in zip_notes[:8])))
    for ln in learners.values():
        for ch, iso in ln.times.items():
            folder = dest / ln.id / ch
            if folder.is_dir():
                t = dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc)
                (folder / "timestamp.txt").write_text(t.strftime(TIME_FORMAT))
    return Intake(layout, dest, dict(sorted(learners.items())), st.refused, batch_notes)


# ----------------------------------------------------------------------------- state kept between runs
def _state_file(out: Path) -> Path:
    return Path(out) / "course" / STATE / "learners.json"


def remember(out: Path, intake: Intake) -> dict:
    """Merge this run's learners (names, LMS ids, intake notes, times) into what earlier runs stored."""
    state = load_state(out)
    for sid, ln in intake.learners.items():
        old = state["learners"].get(sid, {})
        state["learners"][sid] = {
            "raw": ln.raw, "name": ln.name, "lms_id": ln.lms_id, "source": ln.source, "notes": list(ln.notes),
            "times": {**old.get("times", {}), **ln.times},
            "time_source": {**old.get("time_source", {}), **ln.time_source},
            "late_flag": {**old.get("late_flag", {}), **ln.late_flag}}
    state["refused"].update(intake.refused)
    state["notes"] = intake.notes
    _save(out, state)
    return state


def _save(out: Path, state: dict) -> None:
    path = _state_file(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1, ensure_ascii=False))


def finish(out: Path, classes: list, intake: Intake) -> tuple[list, dict]:
    """After grading: keep every learner's notes, and when only some learners were (re)graded,
    give back results for *every* learner in the gradebook (the others as graded before)."""
    from .grader.driver import course_config
    from .grader.gradebook import read_results
    state = remember(out, intake)
    problems = state.setdefault("problems", {})
    root = Path(out) / "course"
    for c in classes:
        chp = problems.setdefault(c.chapter, {})
        for sid in c.results:
            chp[sid] = list(c.problems.get(sid, []))
        c.graded = len(c.results)
        everyone = sorted(set(gradebook_learners(out, c.chapter)) | set(c.results))
        if set(everyone) - set(c.results):
            fresh = c.results
            c.results = read_results(root, c.chapter, everyone, course_config(root))
            c.results.update(fresh)                  # this run's results carry its notes and grader errors
        for sid, res in c.results.items():
            notes = list(state["learners"].get(sid, {}).get("notes", []))
            notes = list(dict.fromkeys(notes + chp.get(sid, []) + res.notes))      # each note once
            c.problems[sid] = notes
            res.notes = notes
            res.problem = "; ".join(notes) or None
    _save(out, state)
    return classes, state


def load_state(out: Path) -> dict:
    path = _state_file(out)
    state = json.loads(path.read_text()) if path.exists() else {}
    for k, v in (("learners", {}), ("refused", {}), ("notes", []), ("problems", {})):
        state.setdefault(k, v)
    return state


def gradebook_learners(out: Path, chapter: str) -> list[str]:
    """Every learner with a submission of ``chapter`` in the output's gradebook (earlier runs too)."""
    from nbgrader.api import Gradebook, MissingEntry
    from .grader.gradebook import db_url
    url = db_url(Path(out) / "course")
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return []
    with Gradebook(url) as gb:
        try:
            return sorted(s.student.id for s in gb.find_assignment(chapter).submissions)
        except MissingEntry:
            return []


def unpack_zip(zip_path: Path, dest: Path) -> Path:
    """Extract a zip of ``[submitted/]<learner>/<chapter>/...`` with :func:`safe_extract` (size, entry and
    ratio caps; no links, no paths outside ``dest``); return the submitted root."""
    safe_extract(zip_path, dest, Caps())
    return _descend(dest, [])
