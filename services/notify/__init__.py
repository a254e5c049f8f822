"""notify: Contacts, preferences, templates, SMS and WeChat delivery."""
