"""Mock interviews: which scenarios to ask, the per-question clock, the scorecard.

Headless (no Textual): the terminal app drives a `session.InterviewSession` and
shows its state; tests drive it with a fake clock.
"""
