"""Ranking and comparing run folders (asrlab-compare, asrlab-results: asrlab.cli)."""
