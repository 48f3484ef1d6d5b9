"""Handlers: thin adapters from HTTP, chat platforms and the CLI to the dispatch use cases."""
