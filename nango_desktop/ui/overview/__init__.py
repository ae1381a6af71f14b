"""Overview page: the environment's health at a glance (figures, charts, needs attention)."""
