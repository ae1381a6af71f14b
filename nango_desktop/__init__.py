"""Nango Desktop: a desktop admin tool for Nango environments."""

__version__ = "0.1.0"
APP_NAME = "Nango Desktop"
APP_ID = "dev.nango.desktop"
