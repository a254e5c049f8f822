"""Mechanisms every New Citizen service uses; nothing domain-specific lives here."""

__version__ = "0.1.0"
