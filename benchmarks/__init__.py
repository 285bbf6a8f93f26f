"""Benchmarks: ``python -m benchmarks NAME [--quick] [...]`` writes ``benchmarks/results/NAME.json`` and
``benchmarks/results/NAME.md``. Each benchmark is a module ``benchmarks/NAME.py`` with ``main(argv) -> int``."""
