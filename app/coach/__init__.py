"""Key-point coverage of follow-up answers (the optional `kprep[coach]` extra).

Headless and optional: `coverage.load_scorer()` returns None when the extra is not
installed, and the app then asks for a self-grade exactly as without it.
"""
