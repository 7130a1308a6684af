"""The grader: nbgrader plug-ins (plugins.py), the trusted judge (judge.py), the parallel driver of
``nnbook-grade`` (driver.py) and reading the gradebook (gradebook.py)."""
