"""Reading what learners hand in: folders and zips of nbgrader's ``submitted/<learner>/<chapter>/`` layout."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path


def unpack_zip(zip_path: Path, dest: Path) -> Path:
    """Extract a zip of ``[submitted/]<learner>/<chapter>/...`` safely; return the submitted root."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            parts = [p for p in Path(info.filename).parts if p not in ("", ".", "..", "/")]
            if not parts or info.filename.startswith("/") or ".." in Path(info.filename).parts:
                continue
            if parts[0] == "__MACOSX":
                continue
            target = dest.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 64 * 1024)
    if (dest / "submitted").is_dir():
        return dest / "submitted"
    kids = [p for p in dest.iterdir() if p.is_dir()]
    if len(kids) == 1 and (kids[0] / "submitted").is_dir():
        return kids[0] / "submitted"
    return dest
