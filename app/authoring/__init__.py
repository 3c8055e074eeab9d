"""Authoring tools for course content: lint (the instructors' gate), scaffolding new
scenarios, and the patch language wrong answers are written in. Sits above the
grading engine, which lint runs on every reference, variant and wrong answer."""
