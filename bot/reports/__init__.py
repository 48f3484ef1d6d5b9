"""Read-side queries: lead history, funnels."""
