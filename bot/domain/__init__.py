"""Pure domain: leads, offers, partners, funnel stages, permissions. No I/O."""
