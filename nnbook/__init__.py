"""nnbook: the helper library that the chapters of the book build, one module per chapter.

Modules named by topic are generated from the chapters' ``#| export`` cells (``make build``):
``neuron`` (01), ``activations`` (02), ``forward`` (03), ``losses`` (04),
``gradient_descent`` (05), ``sgd`` (06), ``backprop`` (07), ``minibatch`` (08).
``nnbook.testing`` (hand-written) holds the checks the graded test cells use; ``nnbook.live``
(hand-written) gives the chapters' sliders: live in the lab, one still figure under nbgrader.
Import what you need by name, e.g. ``from nnbook.neuron import perceptron``.
"""
__version__ = "0.1.0"
