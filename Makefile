# The two loops. `make check-fast` needs no cluster and no tmux: ruff, format, mypy,
# import contracts and every offline test, in parallel. `make check` is the README's
# test command (installs, builds or reuses the binaries, starts the cluster, runs all).
PY := .venv/bin/python
.PHONY: check-fast check venv

venv:
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,coach]'

check-fast: venv
	.venv/bin/ruff check app tests bench
	.venv/bin/ruff format --check app tests bench
	.venv/bin/mypy
	.venv/bin/mypy tests
	.venv/bin/lint-imports --no-cache
	$(PY) -m pytest tests -q -n auto

check:
	bash .ci/test
