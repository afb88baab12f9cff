"""Serving: an ASGI inference server per deployment, with micro-batching, canary, shadow, hot swap and
prediction logs, and batch prediction over files."""
