# The two loops. `make check-fast` needs no cluster and no tmux: ruff, format, mypy,
# import contracts and every offline test, in parallel. `make check` is the README's
# test command (installs, builds or reuses the binaries, starts the cluster, runs all).
#
# check-fast is tuned for the edit loop (bench/README.md, "check-fast", has the figures):
# - the venv is reinstalled only when pyproject.toml changes (a stamp file), not each run;
# - Python may write bytecode caches even where the shell sets PYTHONDONTWRITEBYTECODE
#   (without them every test process and every `python -m app.cli` recompiles app/ and
#   pytest re-rewrites every test module);
# - mypy and lint-imports keep their caches (`make check`/.ci/test runs lint-imports
#   with --no-cache);
# - tests/live and tests/e2e are not even imported (all their tests are live or e2e,
#   which tests/conftest.py enforces, and importing them costs seconds per worker);
# - hypothesis runs its "fast" profile (tests/conftest.py): fewer, still derandomized
#   examples; the regression examples always run, `make check` runs the full counts;
# - `--dist worksteal` so the long terminal-app tests do not leave one worker last.
PY := .venv/bin/python
STAMP := .venv/.kprep-installed
.PHONY: check-fast check venv

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,coach]'
	@touch $@

venv: $(STAMP)

# Empty is unset for Python: bytecode is written in this loop only (`make check` runs
# .ci/test in the environment it is given).
check-fast: export PYTHONDONTWRITEBYTECODE =
check-fast: venv
	.venv/bin/ruff check app tests bench
	.venv/bin/ruff format --check app tests bench
	.venv/bin/mypy
	.venv/bin/mypy tests
	.venv/bin/lint-imports
	HYPOTHESIS_PROFILE=fast $(PY) -m pytest tests -q -n auto --dist worksteal \
		--ignore=tests/live --ignore=tests/e2e

check:
	bash .ci/test
