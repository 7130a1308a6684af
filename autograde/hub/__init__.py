"""A class on one machine: JupyterHub, nbgrader's exchange for one course, grading on submit.

    make class            # as root: demo accounts, exchange, course, then the hub on 127.0.0.1

``setup.py`` lays the class out (real local accounts, exchange permissions as nbgrader documents
them, the instructor's course); ``jupyterhub_config.py`` is the hub; ``nbgrader_config.py`` is the
course's nbgrader configuration that every single-user server loads; the hub starts
``nnbook-grade --watch`` (``autograde/watch.py``) as a service running as the instructor.
"""
