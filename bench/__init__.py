"""a1rt's benchmark suite: `python -m bench SCENARIO`, results in bench/results/."""
