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

# every benchmark scenario, full length; results, summary.md and plots in bench/results/
bench *ARGS:
    {{venv}}python -m bench all {{ARGS}}

# every scenario, shortened (under 5 minutes on a 2-core machine, peers installed)
bench-quick:
    {{venv}}python -m bench all --quick

# install the rest scenario's peers (MLServer, FastAPI) into bench/.venvs/ (`bench` does it too)
bench-peers *ARGS:
    {{venv}}python -m bench peers {{ARGS}}

# every scenario for about a second, into a temporary dir (what the CI smoke test runs)
bench-smoke:
    {{venv}}python -m bench all --smoke

# bench/results/summary.md and the plots, from the results already there
bench-report:
    {{venv}}python -m bench report

# what CI runs, from this checkout
ci:
    bash .ci/run
