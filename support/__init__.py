"""Maintainer code shared by tests/, benchmarks/ and .ci/ (not reader-facing; the book's code is mm_utils).

Dependencies point one way: tests, benchmarks and .ci import from here and from notebooks/mm_utils.py;
nothing here imports from them. Run everything from the repository root (pytest's root conftest.py puts
the root on sys.path; the scripts in benchmarks/ and .ci/ insert it themselves).
"""
