"""The book's build: ``nnbook-build`` (learner notebooks with nbgrader, helper modules from ``#| export`` cells)."""
