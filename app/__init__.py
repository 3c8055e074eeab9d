"""kprep: a terminal lab for Kubernetes-for-ML interview questions.

Nothing is imported here eagerly: `kprep check` must start fast and must never
load Textual, so every front end imports exactly the modules it needs.
"""

__version__ = "0.1.0"
