"""Reproducible performance comparisons: ``python -m benchmarks [--rows N] [--only group,...]``.

Timing never decides a test; these numbers are for people (see DESIGN.md §5).
"""
