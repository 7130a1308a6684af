"""nbgrader configuration of the class course, loaded by every single-user server of the hub.

The hub puts this folder on each server's JUPYTER_CONFIG_PATH and sets NNBOOK_CLASS_DIR and
NNBOOK_ROLE (``learner`` or ``instructor``). One course (``nnbook``), one exchange:

    $NNBOOK_CLASS_DIR/exchange/     nbgrader's exchange (mode 0777, as nbgrader documents it)
    $NNBOOK_CLASS_DIR/course/       the instructor's course (mode 0700, the instructor's)

A learner's server works in the learner's home: fetched chapters land in ~/<chapter>/ and fetched
feedback in ~/<chapter>/feedback/<timestamp>/. The instructor's server is the course root, so
nbgrader's formgrader shows the gradebook the grading service fills.
"""
import os

c = get_config()  # noqa: F821

_class = os.environ.get("NNBOOK_CLASS_DIR", "/srv/nnbook")
c.CourseDirectory.course_id = "nnbook"
c.Exchange.root = os.path.join(_class, "exchange")
c.Exchange.path_includes_course = False
# Validate in the lab: the capstone trains a network in one cell.
c.ExecutePreprocessor.timeout = 300

if os.environ.get("NNBOOK_ROLE") == "instructor":
    _course = os.path.join(_class, "course")
    c.CourseDirectory.root = _course
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "release"
    # the gradebook the grading service fills: $NNBOOK_DB (the hub's), else the URL the service remembered
    # for the course (nnbook-grade --watch --db), else SQLite in the course
    try:
        from pathlib import Path as _Path

        from autograde.grader.gradebook import db_url as _db_url, normalize_db_url as _normalize
        c.CourseDirectory.db_url = (_normalize(os.environ["NNBOOK_DB"]) if os.environ.get("NNBOOK_DB")
                                    else _db_url(_Path(_course)))
    except ImportError:      # nbgrader's server without this package: the course's SQLite gradebook
        c.CourseDirectory.db_url = f"sqlite:///{_course}/gradebook.db"
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
