"""housing's own DependencyProviders (clients of what leaves the process)."""
