"""Contract tests share `serve_sandbox` from tests/sandbox_server.py (loaded by tests/conftest.py)."""
