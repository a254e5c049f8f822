"""stats: Read model of the Center's figures, built only from events."""
