"""Benchmarks of Nango Desktop against its peers and ceilings; the entry command is ``python -m benchmarks.run``."""
