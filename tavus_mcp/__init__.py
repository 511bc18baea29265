"""mcp-server-tavus: a Model Context Protocol server that starts real-time Tavus video conversations."""

__version__ = "0.1.0"
