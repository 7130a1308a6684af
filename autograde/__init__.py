"""nnbook's tools: the book's build (book/), the grader's nbgrader plug-ins and driver (grader/),
the sandbox that runs learner code (sandbox/), and the reports (reports.py). See autograde/README.md."""
