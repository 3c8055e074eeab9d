"""The candidate's state: progress database, workspace drafts, the cached course index.

Headless: nothing here imports Textual.
"""
