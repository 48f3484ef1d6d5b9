"""Routing: which partners may get a lead, and in what order. Pure: no I/O."""
