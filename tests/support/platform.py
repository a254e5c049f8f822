from ops.sandbox import RunningPlatform, running_platform

__all__ = ["RunningPlatform", "running_platform"]
