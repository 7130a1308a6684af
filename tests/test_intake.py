"""autograde.intake: every layout an instructor downloads, and every trick an upload can hold.

These tests stage submissions only (no grading); tests/test_lms.py grades a class end to end.
"""
import datetime as dt
import os
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograde import demo_class, intake
from autograde.intake import Caps, NoSubmissions, collect
from lms_layouts import as_canvas, as_flat, as_moodle, canvas_name, zip_folder
from notebooks import solution_path

CH = "01_neuron"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    manifest = demo_class.build(CH, 30, base)
    return base, manifest


def staged(ik, learner):
    return ik.submitted / learner / CH / f"{CH}.ipynb"


def same_notebook(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def test_canvas_folder_and_zip(demo, tmp_path):
    base, manifest = demo
    t_late = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.timezone.utc).timestamp()
    ids = as_canvas(base, CH, tmp_path / "canvas", late={"correct-001"}, times={"correct-001": t_late})
    for source in (tmp_path / "canvas", zip_folder(tmp_path / "canvas", tmp_path / "canvas.zip")):
        ik = collect(source, [CH], tmp_path / f"out-{source.suffix or 'dir'}")
        assert ik.layout == "Canvas"
        # every learner with a file is there, under the Canvas name, with the Canvas user id kept
        assert set(ik.learners) == {name for name, _ in ids.values()}
        ln = ik.learners[canvas_name("correct-001")]
        assert ln.lms_id == ids["correct-001"][1] and ln.source == "Canvas" and ln.late_flag == {CH: True}
        assert ln.times[CH] == "2026-12-03T09:30:00+00:00" and ln.time_source[CH] == "Canvas file time"
        ts = (ik.submitted / ln.id / CH / "timestamp.txt").read_text()
        assert ts == "2026-12-03 09:30:00.000000 UTC"
        assert same_notebook(staged(ik, ln.id), base / "submitted" / "correct-001" / CH / f"{CH}.ipynb")
        # the renamed notebook is graded as the chapter, with a note
        ren = ik.learners[canvas_name("fault-renamed")]
        assert staged(ik, ren.id).exists() and any("my_work.ipynb" in n for n in ren.notes)
        # the learner with an extra notebook: the chapter's notebook is graded, not scratch.ipynb
        extra = ik.learners[canvas_name("fault-extra-notebook")]
        assert same_notebook(staged(ik, extra.id),
                             base / "submitted" / "fault-extra-notebook" / CH / f"{CH}.ipynb")


def test_canvas_resubmission_latest_wins(tmp_path):
    d = tmp_path / "dl"
    d.mkdir()
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("first = 1")])
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("second = 2")])
    nbformat.write(first, d / f"smithjane_101_501_{CH}.ipynb")
    nbformat.write(second, d / f"smithjane_101_502_{CH}-1.ipynb")
    ik = collect(d, [CH], tmp_path / "out")
    assert list(ik.learners) == ["smithjane"]
    assert "second = 2" in staged(ik, "smithjane").read_text()
    assert any("graded the latest" in n for n in ik.learners["smithjane"].notes)


def test_moodle_folders_and_zip(demo, tmp_path):
    base, _ = demo
    ids = as_moodle(base, CH, tmp_path / "moodle")
    z = zip_folder(tmp_path / "moodle", tmp_path / "moodle.zip")
    ik = collect(z, [CH], tmp_path / "out")
    assert ik.layout == "Moodle"
    sid, pid = ids["correct-000"]
    ln = ik.learners[sid]
    assert ln.name == "Correct 000" and ln.lms_id == pid and ln.source == "Moodle"
    assert same_notebook(staged(ik, sid), base / "submitted" / "correct-000" / CH / f"{CH}.ipynb")
    # the Moodle folder of the empty submission exists but holds nothing: no notebook, so not staged
    assert not staged(ik, ids["fault-empty-folder"][0]).exists()
    assert len(ik.learners) == 29


def test_flat_and_nbgrader_layouts(demo, tmp_path):
    base, manifest = demo
    as_flat(base, CH, tmp_path / "flat")
    ik = collect(tmp_path / "flat", [CH], tmp_path / "o1")
    assert ik.layout == "flat" and "correct-000" in ik.learners
    assert same_notebook(staged(ik, "correct-000"), base / "submitted" / "correct-000" / CH / f"{CH}.ipynb")
    # nbgrader's layout: the folder, its parent, and zips of it with or without a wrapper folder
    for src in (base, base / "submitted", zip_folder(base, tmp_path / "a.zip"),
                zip_folder(base / "submitted", tmp_path / "b.zip", top="export")):
        ik = collect(src, [CH], tmp_path / "o2")
        assert ik.layout == "nbgrader"
        assert set(ik.learners) == set(manifest["learners"])


def test_nbgrader_timestamp_kept(tmp_path):
    sub = tmp_path / "submitted" / "ana" / CH
    sub.mkdir(parents=True)
    shutil.copy(solution_path(CH), sub / f"{CH}.ipynb")
    (sub / "timestamp.txt").write_text("2026-11-30 08:15:00.123456 UTC")
    bad = tmp_path / "submitted" / "bo" / CH
    bad.mkdir(parents=True)
    shutil.copy(solution_path(CH), bad / f"{CH}.ipynb")
    (bad / "timestamp.txt").write_text("yesterday, roughly")
    ik = collect(tmp_path, [CH], tmp_path / "out")
    assert ik.learners["ana"].times == {CH: "2026-11-30T08:15:00.123456+00:00"}
    assert (ik.submitted / "ana" / CH / "timestamp.txt").read_text() == "2026-11-30 08:15:00.123456 UTC"
    assert ik.learners["bo"].times == {}
    assert any("does not hold a time" in n for n in ik.learners["bo"].notes)
    assert not (ik.submitted / "bo" / CH / "timestamp.txt").exists()


def test_no_learner_is_an_error_naming_the_layouts(tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "readme.txt").write_text("hello")
    (d / "notes.ipynb").write_text("{}")
    with pytest.raises(NoSubmissions) as e:
        collect(d, [CH], tmp_path / "out")
    msg = str(e.value)
    for layout in ("nbgrader", "Canvas", "Moodle", "flat"):
        assert layout in msg
    assert "'readme.txt'" in msg


def test_links_fifos_and_devices_refused(tmp_path):
    root = tmp_path / "submitted"
    honest = root / "honest" / CH
    honest.mkdir(parents=True)
    shutil.copy(solution_path(CH), honest / f"{CH}.ipynb")
    cases = {
        "sym-solutions": lambda f: os.symlink(solution_path(CH), f),
        "sym-other": lambda f: os.symlink(honest / f"{CH}.ipynb", f),
        "hard-other": lambda f: os.link(honest / f"{CH}.ipynb", f),
        "fifo": lambda f: os.mkfifo(f),
    }
    for name, make in cases.items():
        folder = root / name / CH
        folder.mkdir(parents=True)
        make(folder / f"{CH}.ipynb")
    # a learner folder that is a link to another learner's folder, and a chapter folder that is one
    os.symlink(root / "honest", root / "sym-folder")
    (root / "sym-chapter").mkdir()
    os.symlink(honest, root / "sym-chapter" / CH)
    if os.path.exists("/dev/null"):
        (root / "device" / CH).mkdir(parents=True)
        try:
            os.mknod(root / "device" / CH / f"{CH}.ipynb", 0o600 | 0o020000, os.makedev(1, 3))
        except PermissionError:
            pass
    ik = collect(root, [CH], tmp_path / "out")
    # the hard link is the honest learner's own file too: it now has two names, so both are refused
    for name, word in [("sym-solutions", "symbolic link"), ("sym-other", "symbolic link"),
                       ("hard-other", "hard link"), ("fifo", "named pipe"), ("sym-chapter", "symbolic link")]:
        assert not staged(ik, name).exists(), name
        assert any(word in n for n in ik.learners[name].notes), (name, ik.learners[name].notes)
    assert "sym-folder" in ik.refused and "symbolic link" in ik.refused["sym-folder"]
    if "device" in ik.learners:
        assert any("device" in n for n in ik.learners["device"].notes)
    # nothing staged is a link
    for p in ik.submitted.rglob("*"):
        assert not p.is_symlink()
        assert p.is_dir() or os.stat(p).st_nlink == 1


def test_zip_bomb_1mb_to_1gib_is_capped(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.write(solution_path(CH), f"submitted/ana/{CH}/{CH}.ipynb")
        with zf.open(f"submitted/mallory/{CH}/{CH}.ipynb", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 24)
            for _ in range(64):                      # 1 GiB of zeros
                f.write(block)
    assert z.stat().st_size < 2 * 2**20               # a 1 MB zip ...
    ik = collect(z, [CH], tmp_path / "out")
    assert staged(ik, "ana").exists()
    assert not staged(ik, "mallory").exists()
    assert any("zip bomb" in n or "MB" in n for n in ik.learners["mallory"].notes), ik.learners["mallory"].notes
    unpacked = sum(p.stat().st_size for p in (tmp_path / "out" / "intake").rglob("*") if p.is_file())
    assert unpacked < 10 * 2**20                       # ... is not unpacked to 1 GiB


def test_zip_caps_entries_total_and_lying_headers(tmp_path):
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        for i in range(30):
            zf.writestr(f"submitted/l{i:02d}/{CH}/{CH}.ipynb", solution_path(CH).read_bytes())
    ik = collect(z, [CH], tmp_path / "o1", caps=Caps(entries=10))
    assert len(ik.learners) == 10
    assert any("only the first 10" in n for n in ik.notes)
    size = solution_path(CH).stat().st_size
    ik = collect(z, [CH], tmp_path / "o2", caps=Caps(total_bytes=5 * size + 10))
    assert sum(staged(ik, l).exists() for l in ik.learners) == 5
    assert any("limit of the whole upload" in n for ln in ik.learners.values() for n in ln.notes)


def test_zip_traversal_links_and_odd_names(tmp_path):
    z = tmp_path / "evil.zip"
    nb = solution_path(CH).read_bytes()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"submitted/ana/{CH}/{CH}.ipynb", nb)
        zf.writestr(f"submitted/../../escaped/{CH}.ipynb", nb)
        zf.writestr(f"/abs/{CH}.ipynb", nb)
        link = zipfile.ZipInfo(f"submitted/linky/{CH}/{CH}.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, str(solution_path(CH)))
        for odd in ["trailing ", "=SUM(A1)", "tab\tname", "-rf", "..hidden", "é\u0301cole"]:
            zf.writestr(f"submitted/{odd}/{CH}/{CH}.ipynb", nb)
    ik = collect(z, [CH], tmp_path / "out")
    assert not (tmp_path / "escaped").exists() and not Path(f"/abs/{CH}.ipynb").exists()
    assert staged(ik, "ana").exists()
    assert any("outside the upload" in n for n in ik.notes)
    assert not staged(ik, "linky").exists() if "linky" in ik.learners else True
    assert any("symbolic link" in n for ln in ik.learners.values() for n in ln.notes) or \
        any("symbolic link" in n for n in ik.notes)
    raw = {ln.raw: ln for ln in ik.learners.values()}
    assert raw["trailing "].id == "trailing" and "trailing spaces" in raw["trailing "].notes[0]
    assert raw["=SUM(A1)"].id == "SUM_A1" and "leading '='" in raw["=SUM(A1)"].notes[0]
    assert raw["tab\tname"].id == "tabname" and "control characters" in raw["tab\tname"].notes[0]
    assert raw["-rf"].id == "rf" and raw["..hidden"].id == "hidden"
    for ln in ik.learners.values():
        assert staged(ik, ln.id).exists() or ln.raw == "linky", ln
        assert ln.id == ln.id.strip() and not ln.id.startswith(("=", "-", "+", "@", "."))


def test_safe_id_collisions_and_empty():
    taken = {"alice"}
    sid, why = intake.safe_id("alice ", taken)
    assert sid == "alice-2" and "same id" in why
    sid, why = intake.safe_id("\x00\x01", set())
    assert sid.startswith("learner-") and "no usable" in why
    assert intake.safe_id("bob", set()) == ("bob", None)


def test_students_filter(demo, tmp_path):
    base, _ = demo
    ik = collect(base, [CH], tmp_path / "out", students=["correct-000", "blank-000"])
    assert set(ik.learners) == {"correct-000", "blank-000"}
    assert sorted(p.name for p in ik.submitted.iterdir()) == ["blank-000", "correct-000"]
    with pytest.raises(NoSubmissions, match="no such learner"):
        collect(base, [CH], tmp_path / "out", students=["nobody"])


def test_collector_plugins_are_nbgrader_plugins():
    from nbgrader.plugins import FileNameCollectorPlugin
    c = intake.CanvasCollector()
    assert isinstance(c, FileNameCollectorPlugin)
    info = c.collect(f"/dl/doejohn_late_1234_98765_{CH}-2.ipynb")
    assert info == {"student_id": "doejohn", "late": "_late", "lms_id": "1234", "submission_id": "98765",
                    "file_id": f"{CH}.ipynb", "original_file": f"{CH}-2.ipynb"}
    assert c.collect("/dl/readme.txt") is None
    m = intake.MoodleCollector().collect(f"/x/Jane Q Doe_4242_assignsubmission_file_/{CH}.ipynb")
    assert m["student_id"] == "Jane Q Doe" and m["lms_id"] == "4242" and m["file_id"] == f"{CH}.ipynb"


def test_collector_works_in_stock_nbgrader_zip_collect(demo, tmp_path):
    """The same plug-in in nbgrader's own `zip_collect`: Canvas files land in submitted/<name>/<chapter>/."""
    import subprocess
    import sys
    base, _ = demo
    ids = as_canvas(base, CH, tmp_path / "dl")
    course = tmp_path / "course"
    archive = course / "downloaded" / CH / "archive"
    archive.mkdir(parents=True)
    zip_folder(tmp_path / "dl", archive / "canvas.zip")
    (course / "release" / CH).mkdir(parents=True)
    shutil.copy(solution_path(CH), course / "release" / CH / f"{CH}.ipynb")
    r = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "zip_collect", CH,
                        "--ZipCollectApp.collector_plugin=autograde.intake.CanvasCollector",
                        f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course}/gb.db"],
                       cwd=course, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    name, _ = ids["correct-000"]
    got = course / "submitted" / name / CH / f"{CH}.ipynb"
    assert same_notebook(got, base / "submitted" / "correct-000" / CH / f"{CH}.ipynb")
