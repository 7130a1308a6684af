"""What runs learner code: a bubblewrap sandbox holding a warm Python that forks one kernel per learner.

* :mod:`.slot` -- the judge's side: starting the sandbox (:class:`Slot`), talking to a learner's
  kernel (:class:`Kernel`), resource limits (:class:`Limits`), staging what the sandbox may import;
* :mod:`.kernel` -- runs *inside* the sandbox (the zygote and each learner's child kernel);
* :mod:`.wire` -- the frame and value format between the two (plain data only, never pickles
  from the learner's side);
* :mod:`.textlimit` -- the one output limiter, used on both sides.
"""
from .slot import Kernel, KernelDied, KernelTimeout, Limits, Slot, bwrap_available, stage_library, warn_if_unsandboxed

__all__ = ["Kernel", "KernelDied", "KernelTimeout", "Limits", "Slot", "bwrap_available", "stage_library",
           "warn_if_unsandboxed"]
