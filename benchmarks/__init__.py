"""Benchmarks of the API next to direct python-glanceclient calls, measured in one run."""
