# a1rt developer recipes. `just` comes with the dev extra: .venv/bin/just

venv := ".venv/bin/"

# install the project and its dev tools into .venv
install:
    python3 -m venv .venv && {{venv}}pip install -q -e '.[dev]'

# run one replica on the embedded defaults
serve *ARGS:
    {{venv}}a1rt serve {{ARGS}}

# the whole test suite (what CI runs)
test *ARGS:
    {{venv}}pytest {{ARGS}}

# lint and formatting check
lint:
    {{venv}}ruff check .
    {{venv}}ruff format --check .

# mypy, strict for actors/ and a1rt/
typecheck:
    {{venv}}mypy

# format the code
fmt:
    {{venv}}ruff format .
    {{venv}}ruff check --fix .

# every benchmark scenario, full length; results in bench/results/
bench *ARGS:
    {{venv}}python -m bench all {{ARGS}}

# every scenario, shortened
bench-quick:
    {{venv}}python -m bench all --quick

# what CI runs, from this checkout
ci:
    bash .ci/run
