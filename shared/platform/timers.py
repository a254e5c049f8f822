"""A nameko timer whose interval comes from the service config, so operators tune it without a release."""

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key: str, default_seconds: float, **kwargs):
        self.config_key = config_key
        self.default_seconds = default_seconds
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.default_seconds))
        super().setup()


timer = ConfiguredTimer.decorator
