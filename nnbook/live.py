"""Live figures in the lab, still figures under nbgrader (hand-written, not generated).

``interact(function, **controls)`` is ``ipywidgets.interact`` when a person runs the notebook: the
controls appear and the figure redraws as they move. When nbgrader runs it (the Validate button,
``nbgrader validate`` and ``autograde`` set ``NBGRADER_EXECUTION``) nobody can move a slider:
the function is called once with the controls' starting values, so the figure is an ordinary
output of the cell (kept in feedback pages) and no Output widget is created. nbclient, which
nbgrader runs notebooks with, mirrors every Output widget back to the kernel while the cell runs
(nbclient issue #312); seen here, that traffic sometimes left Validate waiting for a reply that
never came, until the cell timeout.
"""
from __future__ import annotations

import os


def _start_value(control):
    """The value a control starts at: a widget's ``value``, or what ipywidgets makes of an abbreviation."""
    if hasattr(control, "value"):
        return control.value
    from ipywidgets import interactive
    widget = interactive.widget_from_abbrev(control)
    return widget.value if widget is not None else control


def interact(function, **controls):
    """``ipywidgets.interact(function, **controls)`` in a live notebook; one still figure under nbgrader."""
    if os.environ.get("NBGRADER_EXECUTION"):
        function(**{name: _start_value(c) for name, c in controls.items()})
        return function
    import ipywidgets
    return ipywidgets.interact(function, **controls)
