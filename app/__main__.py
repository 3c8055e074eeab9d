"""`python -m app` runs the kprep command line."""

from app.cli import main

main()
