"""Dashboard benchmark: fill a database with a realistic order history and time the order pages."""
