"""The Korean edition: one source, translations kept in sync, messages, notes, feedback and figures in Korean.

All cheap (no nbgrader run): the grading of the Korean notebooks is in tests/test_chNN_grading.py, the
rendering in the lab in tests/browser/test_korean_lab.py.
"""
import ast
import gettext
import json
import re
import shutil
import warnings
from pathlib import Path

import nbformat
import pytest

from autograde.book import build, translations
from autograde.grader import plugins
from nnbook import i18n
from notebooks import REPO, read, solution_path

CHAPTER = "01_neuron"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture
def repo(tmp_path):
    """A copy of the repository's chapter 01 with its translation."""
    shutil.copytree(REPO / "solutions" / CHAPTER, tmp_path / "solutions" / CHAPTER)
    for d in ("chapters", "chapters-ko", "nnbook"):
        (tmp_path / d).mkdir()
    return tmp_path


def source_of(repo):
    return repo / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"


def edit(repo, cell_id, transform):
    path = source_of(repo)
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    cell.source = transform(cell.source)
    nbformat.write(nb, path)


def problems(repo):
    return build.translation_problems(build.find_chapters(repo=repo))


# ----------------------------------------------------------------------------- kept in sync
def test_every_translated_chapter_is_complete_and_current():
    assert problems(REPO) == []
    done = [c.name for c in build.find_chapters() if c.name not in build.UNTRANSLATED["ko"]]
    assert CHAPTER in done
    for name in done:
        assert (REPO / "chapters-ko" / name / f"{name}.ipynb").is_file()
    for name in build.UNTRANSLATED["ko"]:
        assert not (REPO / "chapters-ko" / name).exists(), f"{name} is listed as untranslated"


def test_stale_translation_fails_the_build(repo, capsys):
    assert problems(repo) == []
    edit(repo, "cell-005", lambda s: s.replace("exactly 4 adjustable weights", "exactly four adjustable weights"))
    found = problems(repo)
    assert len(found) == 1 and "stale translation of cell cell-005" in found[0], found
    assert build.main(["--check", CHAPTER], repo=repo) == 2
    err = capsys.readouterr().err
    assert "translations are missing or stale" in err and "cell-005" in err


def test_missing_translations_fail_the_build(repo, capsys):
    # a new markdown cell, a new hint in a test cell and a new figure label: three missing translations
    path = source_of(repo)
    nb = nbformat.read(path, as_version=4)
    new = nbformat.v4.new_markdown_cell("A new paragraph nobody translated yet.")
    new.id = "cell-new"
    nb.cells.insert(3, new)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_bias_for_threshold")
    test.source = test.source.replace('hint="return a single number."', 'hint="return one single number."')
    next(c for c in nb.cells if c.get("id") == "cell-006").source += '\nprint(_("a new label"))'
    nbformat.write(nb, path)
    found = "\n".join(problems(repo))
    assert "missing translation of markdown cell cell-new" in found
    assert "missing translation of 'return one single number.'" in found
    assert "stale entry 'return a single number.'" in found        # the string the code no longer has
    assert "missing translation of 'a new label'" in found
    assert build.main(["--check", CHAPTER], repo=repo) == 2


def test_messages_no_catalog_can_translate_fail_the_build(repo):
    """An f-string that reads as a sentence is a new string for every value, and a sentence printed or
    raised directly never meets gettext: the build refuses both and says to write tr(...); so it does a
    demo cell's printed line or figure label in English words."""
    path = source_of(repo)
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_bias_for_threshold")
    test.source += ('\nfor d in (1, 2):\n    check(d > 0, f"bias_for_threshold for d={d} is off")\n'
                    '    check(d > 0, f"bias_for_threshold({d})")\n'          # code, not prose: allowed
                    '    check(d > 0, tr("bias_for_threshold for d={d} is off", d=d))\n'
                    'print("Note: printed as it is")\n'
                    'print(gettext("Note: printed in the edition"))\n')
    nbformat.write(nb, path)
    found = [p for p in problems(repo) if "cannot be translated" in p and "test_bias_for_threshold" in p]
    assert len(found) == 2, found
    assert "test_bias_for_threshold" in found[0] and "'bias_for_threshold for d=x is off'" in found[0]
    assert "'Note: printed as it is'" in found[1] and "tr(" in found[1]
    # a demo cell's printed line and figure label in English words: refused too; code and equations are not
    demo = next(c for c in nb.cells if c.get("id") == "cell-006")
    demo.source += ('\nprint(f"samples per class: {3}")\nprint("np.dot(w, x) + b =", 1.0)\n'
                    'plt.gca().set_xlabel("z = w·x + b"); plt.gca().annotate("target y = 2", (0, 0))\n'
                    'plt.gca().set_title("$f(x) = x^2/2 - \\\\sin 2x$"); print("inputs:")\n'
                    'bar = tqdm(range(3), desc="timing epochs")\n')
    nbformat.write(nb, path)
    in_demo = [p for p in problems(repo) if "cell-006" in p and "cannot be translated" in p]
    assert [re.search(r"the message (.*) cannot", p)[1] for p in in_demo] == [
        "'samples per class: x'", "'target y = 2'", "'inputs:'", "'timing epochs'"], in_demo
    # the tr() template and the gettext() message are asked for in the catalog like every other string
    missing = " ".join(problems(repo))
    assert "missing translation of 'bias_for_threshold for d={d} is off'" in missing
    assert "missing translation of 'Note: printed in the edition'" in missing


def test_every_catalog_entry_is_korean():
    """Each translation has Hangul, keeps the English's {fields}, and leaves no English sentence
    (three English words in a row outside `code`) in it."""
    from notebooks import english_prose
    catalogs = sorted((REPO / "solutions").glob("*/i18n/ko.po")) + [REPO / "nnbook" / "locale" / "ko.po"]
    assert len(catalogs) == 9
    bad = []
    for po in catalogs:
        for k, v in translations.parse_po(po.read_text()).items():
            if not HANGUL.search(v) or english_prose(v) or format_fields(k) != format_fields(v):
                bad.append((po.parent.parent.name, k[:50], v[:80]))
    assert bad == []


def format_fields(template: str):
    """The set of (name, conversion, spec) of ``template``'s str.format fields; "unreadable" when
    str.format cannot read it (a stray brace). tr() formats a message even when its check passes, so a
    translation that differs here would break a correct answer in the Korean edition."""
    import string
    try:
        return {(name, conv or "", spec or "") for _, name, spec, conv in string.Formatter().parse(template)
                if name is not None}
    except ValueError:
        return "unreadable"


def test_a_description_given_to_a_check_comes_out_in_the_edition():
    """check_close(z, 1.0, "weighted_sum with all weights 0") in Korean: the description is translated
    too, by the chapter's catalog; a name such as "output" is code and stays as it is."""
    from nnbook.testing import check_close, check_unchanged
    import numpy as np
    i18n.add_translations("ko", {"weighted_sum with all weights 0": "가중치가 모두 0인 weighted_sum",
                                 "output": "출력"})
    with i18n.using("ko"), pytest.raises(AssertionError) as ko:
        check_close(2.0, 1.0, "weighted_sum with all weights 0")
    assert str(ko.value) == "가중치가 모두 0인 weighted_sum: 기대한 값은 1.0인데, 나온 값은 2.0입니다"
    with i18n.using("ko"), pytest.raises(AssertionError) as name:
        check_unchanged(np.zeros(2), np.ones(2), "output")
    assert "`output`" in str(name.value)
    with pytest.raises(AssertionError) as en:
        check_close(2.0, 1.0, "weighted_sum with all weights 0")
    assert str(en.value) == "weighted_sum with all weights 0 should be 1.0, got 2.0"


def test_a_chapter_without_translation_fails_unless_listed(repo, monkeypatch):
    shutil.rmtree(repo / "solutions" / CHAPTER / "i18n")
    assert "no ko translation" in " ".join(problems(repo))
    monkeypatch.setitem(build.UNTRANSLATED, "ko", {CHAPTER})
    assert problems(repo) == []


def test_translate_writes_a_template_that_keeps_what_is_current(repo):
    edit(repo, "cell-005", lambda s: s + "\nOne more sentence.")
    assert build.main(["--translate", "ko", CHAPTER], repo=repo) == 0
    text = (repo / "solutions" / CHAPTER / "i18n" / "ko.md").read_text()
    blocks = translations.parse_prose(text)
    assert blocks["cell-005"].text.startswith("TRANSLATE\n## 1.2 Inputs")      # redo this one
    assert blocks["cell-003"].text.startswith("## 1.1 뇌세포에서 공식으로")      # kept
    assert "cell cell-005 is not translated yet" in " ".join(problems(repo))


def test_translations_are_not_released():
    """i18n/ holds hidden tests' hints: nbgrader's CourseDirectory.ignore keeps it out of every release."""
    from traitlets.config import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "autograde")).load_config()
    assert "i18n" in config.CourseDirectory.ignore
    assert not list((REPO / "chapters").rglob("i18n")) and not list((REPO / "chapters-ko").rglob("i18n"))


# ----------------------------------------------------------------------------- one source
def grading_cells(path: Path):
    nb = json.loads(path.read_text())
    return [(c["id"], c["cell_type"], c["source"], c["metadata"].get("nbgrader"))
            for c in nb["cells"] if "nbgrader" in c["metadata"]]


@pytest.mark.parametrize("chapter", sorted(p.name for p in (REPO / "chapters-ko").iterdir() if p.is_dir()))
def test_korean_release_has_the_same_grade_ids_points_and_checksums(chapter):
    en, ko = REPO / "chapters" / chapter / f"{chapter}.ipynb", REPO / "chapters-ko" / chapter / f"{chapter}.ipynb"
    assert grading_cells(en) == grading_cells(ko)            # ids, sources, points, checksums
    a, b = read(en), read(ko)
    assert [c.source for c in a.cells if c.cell_type == "code"] == [c.source for c in b.cells if c.cell_type == "code"]
    assert [c.get("id") for c in a.cells] == [c.get("id") for c in b.cells]
    assert b.metadata["nnbook"]["lang"] == "ko" and "nnbook" not in a.metadata
    prose = [c.source for c in b.cells if c.cell_type == "markdown"]
    assert all(HANGUL.search(s) for s in prose), "every markdown cell of the Korean edition is Korean"
    # equations are unchanged: every $...$ of the English appears in the Korean, cell by cell
    for x, y in zip(a.cells, b.cells):
        if x.cell_type == "markdown":
            for eq in re.findall(r"\$\$.+?\$\$", x.source, flags=re.S):
                assert eq in y.source, (x.get("id"), eq)


# ----------------------------------------------------------------------------- catalogs
def test_po_and_mo_round_trip(tmp_path):
    entries = {"plain": "평범한", 'quote " and \\ backslash': "따옴표 \" 와 \\ 역슬래시", "two\nlines": "두\n줄"}
    po = "\n".join(['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""] +
                   [f"msgid {translations.po_quote(k)}\nmsgstr {translations.po_quote(v)}\n" for k, v in entries.items()]
                   + ["#, fuzzy", 'msgid "unsure"', 'msgstr "불확실"'])
    assert translations.parse_po(po) == entries                              # the fuzzy entry is left out
    mo = tmp_path / "ko" / "LC_MESSAGES" / "t.mo"
    mo.parent.mkdir(parents=True)
    mo.write_bytes(translations.write_mo(entries))
    t = gettext.translation("t", localedir=str(tmp_path), languages=["ko"])
    for k, v in entries.items():
        assert t.gettext(k) == v


def _library_strings() -> set[str]:
    """Every string the library and the grader translate: the first literal of _(), tr(), gettext()
    calls, the literal hints of nnbook.testing, and the grader's note templates."""
    from nnbook import mine
    found = set(plugins.NOTE_TEMPLATES) | set(mine.NOTICES.values())
    for path in [REPO / "nnbook" / "testing.py", REPO / "nnbook" / "mine.py", REPO / "autograde" / "feedback.py",
                 REPO / "autograde" / "grader" / "plugins.py", REPO / "autograde" / "grader" / "judge.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in ("_", "tr", "gettext") and node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
                for k in node.keywords:
                    if k.arg == "hint" and isinstance(k.value, ast.Constant) and path.name == "testing.py":
                        found.add(k.value.value)
            if isinstance(node, ast.BoolOp) and path.name == "testing.py":    # hint or "default advice"
                found |= {v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return found


def test_library_catalog_translates_every_library_message():
    catalog = translations.parse_po((REPO / "nnbook" / "locale" / "ko.po").read_text())
    wanted = _library_strings()
    assert wanted - catalog.keys() == set(), "missing in nnbook/locale/ko.po"
    assert catalog.keys() - wanted == set(), "stale entries in nnbook/locale/ko.po"
    for k, v in catalog.items():                  # the same {fields} in the translation
        assert set(re.findall(r"\{\w+\}", k)) == set(re.findall(r"\{\w+\}", v)), k


def test_hints_kept_in_a_variable_are_collected():
    """HINT = "..." used as hint=HINT is a hint a learner reads: collected (visible or hidden by where it is
    assigned), so the build asks for its translation, even when it reads as code; so is every other
    sentence of a test cell (a helper's returned hint), but not its docstrings, nor a demo cell's strings."""
    test = nbformat.v4.new_code_cell(
        '"""test_loss: the docstring is source, not a message."""\n'
        'HINT = ("average over the samples, "\n        "not the sum.")\nCODE = "np.mean(losses)"\n'
        'def cause(x):\n    """Not a message either."""\n    return "a hint a helper returns"\n'
        'check_close(loss, 1.0, "loss", hint=HINT)\ncheck_close(loss, 1.0, "loss", hint=CODE)\n'
        '### BEGIN HIDDEN TESTS\n'
        'deep = "only in hidden tests"\ncheck_close(loss, 2.0, "loss", hint=deep)\n### END HIDDEN TESTS\n',
        metadata={"nbgrader": {"grade": True, "grade_id": "test_loss", "points": 1, "solution": False}})
    demo = nbformat.v4.new_code_cell('HINT = "a demo cell is not a test"\nshow(hint=HINT)')
    found = translations.code_strings(nbformat.v4.new_notebook(cells=[demo, test]))
    assert found == {"average over the samples, not the sum.": True, "np.mean(losses)": True,
                     "a hint a helper returns": True, "only in hidden tests": False}
    # the chapters' own: chapter 04's accuracy hint (HINT = ...) is collected, and reads in Korean
    hint = next(s for s in translations.code_strings(read(solution_path("04_losses")))
                if "accuracy is the mean of (prediction == target)" in s)
    with i18n.using("ko"):
        assert HANGUL.search(i18n.gettext(hint))


def test_public_catalog_has_no_hidden_test_strings():
    mo = REPO / "nnbook" / "locale" / "ko" / "LC_MESSAGES" / "nnbook.mo"
    t = gettext.GNUTranslations(mo.open("rb"))
    hidden_only = [s for s, visible in translations.code_strings(read(solution_path(CHAPTER))).items() if not visible]
    assert "the step fires at z = 0: use >=, not >." in hidden_only
    for s in hidden_only:
        assert t.gettext(s) == s, f"a hidden test's hint is in the public catalog: {s!r}"
    assert t.gettext("did you forget to add the bias?") == "편향을 더하는 것을 잊지 않았나요?"


# ----------------------------------------------------------------------------- the edition
def test_messages_follow_the_edition(monkeypatch):
    from nnbook.testing import check_close, check_shape
    import numpy as np
    monkeypatch.delenv("NNBOOK_LANG", raising=False)
    with pytest.raises(AssertionError) as en:
        check_close(2.0, 1.0, "weighted_sum(x, w, b)", hint="did you forget to add the bias?")
    assert str(en.value) == "weighted_sum(x, w, b) should be 1.0, got 2.0\nHint: did you forget to add the bias?"
    with i18n.using("ko"), pytest.raises(AssertionError) as ko:
        check_close(2.0, 1.0, "weighted_sum(x, w, b)", hint="did you forget to add the bias?")
    assert str(ko.value) == ("weighted_sum(x, w, b): 기대한 값은 1.0인데, 나온 값은 2.0입니다\n"
                             "힌트: 편향을 더하는 것을 잊지 않았나요?")
    monkeypatch.setenv("NNBOOK_LANG", "ko")
    with pytest.raises(AssertionError) as shape:
        check_shape([1, 2], (2,), "perceptron_batch(X, w, b)")
    assert "NumPy 배열을 돌려주세요" in str(shape.value) and "list" in str(shape.value)


def test_edition_comes_from_env_then_the_notebook_and_hostile_values_are_english(monkeypatch, tmp_path):
    monkeypatch.delenv("NNBOOK_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert i18n.language() == "en"
    monkeypatch.setenv("NNBOOK_LANG", "ko_KR.UTF-8")
    assert i18n.language() == "ko"
    monkeypatch.setenv("NNBOOK_LANG", "../../etc/passwd")
    assert i18n.language() == "en"
    monkeypatch.delenv("NNBOOK_LANG")
    nb = tmp_path / "x.ipynb"
    nb.write_text((REPO / "chapters-ko" / CHAPTER / f"{CHAPTER}.ipynb").read_text())
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert i18n.language() == "ko"
    for hostile in ({"lang": ["ko"]}, {"lang": "klingon"}, "ko", None, {"lang": 7}):
        assert i18n.edition_of({"metadata": {"nnbook": hostile}}) == "en"
    assert i18n.edition_of({"metadata": []}) == "en" and i18n.edition_of([]) == "en"


def test_grader_notes_follow_the_edition_and_stay_english_for_the_instructor():
    nb = nbformat.v4.new_notebook(metadata={"nnbook": {"lang": "ko"}})
    notes = ["test cell test_perceptron was deleted; restored from the course and run",
             "cell 7: stopped after 120 s (endless loop?)", "something the catalog does not know"]
    plugins.add_notes(nb, notes)
    cell = nb.cells[0]
    assert cell.metadata[plugins.NOTES_KEY] == notes
    assert cell.source.startswith("**이 제출물에 대한 채점기의 메모:**")
    assert "테스트 셀 test\\_perceptron이(가) 지워져 있어" in cell.source
    assert "셀 7: 120초 뒤에 멈추었습니다(무한 반복?)" in cell.source
    assert "something the catalog does not know" in cell.source
    english = nbformat.v4.new_notebook()
    plugins.add_notes(english, notes[:1])
    assert english.cells[0].source.startswith("**Grader's notes on this submission:**")


def test_lay_out_notes_follow_the_edition(tmp_path):
    """The notes driver.lay_out writes into the graded notebook (which file was graded) read in Korean in a
    Korean notebook; the metadata and the returned notes (for grades.csv) stay English."""
    from autograde.grader.driver import lay_out
    korean = read(REPO / "chapters-ko" / CHAPTER / f"{CHAPTER}.ipynb")
    english = read(REPO / "chapters" / CHAPTER / f"{CHAPTER}.ipynb")
    sub = tmp_path / "sub"
    sub.mkdir()
    nbformat.write(korean, sub / "my_copy.ipynb")
    (sub / "other.ipynb").write_text("{not json", encoding="utf-8")
    notes = lay_out(sub, CHAPTER, english, tmp_path / "out")
    assert notes == ["notebook named my_copy.ipynb instead of 01_neuron.ipynb; graded it anyway",
                     "extra notebook(s) ignored: other.ipynb"]
    cell = read(tmp_path / "out" / f"{CHAPTER}.ipynb").cells[0]
    assert cell.metadata[plugins.NOTES_KEY] == notes
    assert "노트북 이름이 01\\_neuron.ipynb이(가) 아니라 my\\_copy.ipynb이지만, 그대로 채점했습니다" in cell.source
    assert "추가 노트북은 무시했습니다: other.ipynb" in cell.source
    # nothing usable: the released notebook is graded, in its edition
    (sub / "my_copy.ipynb").unlink()
    (sub / "other.ipynb").rename(sub / f"{CHAPTER}.ipynb")
    notes = lay_out(sub, CHAPTER, korean, tmp_path / "out")
    assert len(notes) == 1 and notes[0].startswith(f"no submission: {CHAPTER}.ipynb is not a valid notebook (")
    cell = read(tmp_path / "out" / f"{CHAPTER}.ipynb").cells[0]
    assert cell.source.startswith("**이 제출물에 대한 채점기의 메모:**")
    assert "제출물 없음: 01\\_neuron.ipynb은(는) 올바른 노트북이 아닙니다(" in cell.source, cell.source
    for missing, korean_note in ((None, "제출물 없음: 이 장의 폴더가 없습니다"),
                                 (tmp_path / "empty", "제출물 없음: 제출 폴더가 비어 있습니다")):
        if missing is not None:
            missing.mkdir()
        lay_out(missing, CHAPTER, korean, tmp_path / "out")
        assert korean_note in read(tmp_path / "out" / f"{CHAPTER}.ipynb").cells[0].source
    lay_out(None, CHAPTER, english, tmp_path / "out")         # an English notebook keeps English notes
    assert "* no submission: the folder for this chapter is missing" in read(tmp_path / "out" / f"{CHAPTER}.ipynb").cells[0].source


def test_feedback_summary_follows_the_edition():
    from autograde.feedback import ExerciseSummary, exercise_rows
    nb = read(REPO / "chapters-ko" / CHAPTER / f"{CHAPTER}.ipynb")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["nbgrader"]["score"] = 0
    rows = exercise_rows(nb)
    assert rows[0]["section"] == "연습 문제 1 · weighted_sum"          # its heading, "(2점)" taken off
    assert rows[0]["name"] == "weighted_sum"
    nb, _ = ExerciseSummary().preprocess(nb, {})
    page = nb.cells[0].source
    assert "<h2>내 점수: 0 / 17</h2>" in page and "<th>연습 문제</th>" in page and "점수 없음" in page


# ----------------------------------------------------------------------------- figures
def _draw(title: str) -> list[str]:
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.set_title(title)
    ax.set_xlabel("가중합 z")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught]


def test_korean_figures_have_a_hangul_font_and_no_missing_glyphs():
    import matplotlib
    saved = matplotlib.rcParams.copy()
    try:
        font = i18n.setup_matplotlib("ko")
        assert font in i18n.HANGUL_FONTS, "no Hangul font: `bash .ci/system-deps` installs fonts-nanum"
        with i18n.using("ko"):
            title = i18n.tr("learned in {epochs} epochs: {correct} of {total} correct", epochs=3, correct=30, total=30)
        assert title == "3 에포크 만에 학습: 30개 중 30개 정답"
        assert not [w for w in _draw(title) if "missing" in w]
        # the check is real: a font without Hangul draws boxes, and matplotlib says so
        matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]
        assert any("missing from font" in w for w in _draw("계단 함수"))
    finally:
        matplotlib.rcParams.update(saved)


def test_your_library_speaks_the_edition(capsys):
    """nnbook.mine: the progress view's words and a fallback notice (written in English into status.json
    by autograde.mylib) come out in Korean in the Korean edition, the English unchanged."""
    from nnbook import mine
    notice = mine.NOTICES["failing"].format(name="sigmoid", test="test_sigmoid", section="§2.2")
    status = {"library": "mynnbook", "built": "2026-12-04 10:00", "chapters": {"02_activations": {
        "module": "activations", "exercises": [
            {"id": "sigmoid", "names": ["sigmoid"], "status": "failing", "message": "AssertionError: ..."},
            {"id": "relu", "names": ["relu"], "status": "passed", "exported": True}]}}}
    english = mine.progress_text(status)
    assert "1 passed, 1 failing" in english and "relu: yours" in english
    with i18n.using("ko"):
        korean = mine.progress_text(status)
        html = mine._progress_html(status)
        assert i18n.translate_note(notice, mine.NOTICE_TEMPLATES) == (
            "책의 `sigmoid`을(를) 씁니다: 여러분의 것은 `test_sigmoid`를 통과하지 못합니다. §2.2을(를) 보세요")
    assert "여러분의 라이브러리: mynnbook (2026-12-04 10:00에 만듦)" in korean
    assert "1 통과, 1 실패" in korean and "relu: 여러분의 것" in korean and "sigmoid: 책의 것" in korean
    assert "<th>상태</th><th>연습 문제</th><th>사용</th><th>첫 메시지</th>" in html


def test_a_learners_values_are_data_in_a_korean_message():
    """What a learner's code returns reaches tr() only as a value: braces in it are not a template, and
    a value that happens to be a catalog's English is at most shown translated, never run or formatted."""
    from nnbook.testing import check_equal
    i18n.add_translations("ko", {"a sentence a learner returns": "학습자가 돌려준 문장"})
    for hostile in ("{what.__class__.__mro__}", "{0}{1}{}", "{message}\nHint: {hint}", "a sentence a learner returns"):
        with i18n.using("ko"), pytest.raises(AssertionError) as ko:
            check_equal(hostile, "x", "weighted_sum(x, w, b)")
        assert str(ko.value).startswith("weighted_sum(x, w, b): 기대한 값은 'x'인데, 나온 값은 "), str(ko.value)
        assert repr(hostile) in str(ko.value)          # shown as it is: the repr, never a looked-up sentence
