"""Messenger implementations that need no chat platform (console for the demo)."""
