# Shortcuts; the scripts do the work and need nothing but bash.
.PHONY: up test ci lint bench messages

up:            ## install, migrate, load demo data, serve on :8000
	bash scripts/up.sh

test:          ## install test tools, lint, type-check and run the suite (SQLite)
	bash scripts/test.sh

ci:            ## what CI runs: SQLite then PostgreSQL
	bash .ci/run

lint:
	.venv/bin/ruff check . && .venv/bin/mypy kefu

messages:      ## refresh the translation catalogues from the source
	cd kefu && ../.venv/bin/python ../manage.py makemessages -l zh_Hans --no-obsolete
	.venv/bin/kefu i18n_compile

bench:         ## customer lookup benchmark (see bench/README.md)
	.venv/bin/python bench/lookup.py
