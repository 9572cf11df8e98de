"""The notifications inbox and preferences."""
