"""Health checks and the settings page."""
