"""SANDBOX: local stand-ins for the Slack Web API and the Telegram Bot API, on loopback.

They answer the calls Leadbot makes, record them, and sign or shape requests the way the real
platforms do, so `leadbot demo` and the tests can drive the real adapters with nothing leaving
the machine. They are not Slack or Telegram: never point a production setting at them.
"""
