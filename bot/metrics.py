"""Prometheus metrics for `GET /metrics`, one registry per running instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# seconds: from a few seconds to a day, for "how fast do partners answer" and "how fast does
# a lead reach a chat"
_WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
MAX_SOURCES = 50
_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class Metrics:
    """Counters and histograms fed by after-commit effects of the use cases and the sender."""

    def __init__(self) -> None:
        self._sources: set[str] = set()
        self.registry = CollectorRegistry()
        r = self.registry
        self.leads = Counter("leadbot_leads_received", "Leads received", ["source"], registry=r)
        self.offers = Counter("leadbot_offers", "Offers by outcome", ["outcome"], registry=r)
        self.time_to_accept = Histogram(
            "leadbot_time_to_accept_seconds",
            "From card delivered to Accept",
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.intake_to_delivery = Histogram(
            "leadbot_intake_to_delivery_seconds",
            "From lead received to its first card delivered",
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.send_errors = Counter(
            "leadbot_send_errors",
            "Sends that failed: a chat platform's, or platform=webhook for a CRM",
            ["platform", "permanent"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "leadbot_outbox_depth", "Items waiting to be sent: chat effects, webhooks", registry=r
        )

    def lead_received(self, source: str) -> None:
        # sources come from clients: cap the label values so a typo cannot grow series forever
        if source not in self._sources and len(self._sources) >= MAX_SOURCES:
            source = "other"
        self._sources.add(source)
        self.leads.labels(source=source).inc()

    def offer_settled(self, outcome: str, waited: float | None) -> None:
        self.offers.labels(outcome=outcome).inc()
        if outcome == "accepted" and waited is not None:
            self.time_to_accept.observe(waited)

    def delivered(self, after_intake: float) -> None:
        self.intake_to_delivery.observe(after_intake)

    def send_error(self, platform: str, *, permanent: bool) -> None:
        self.send_errors.labels(platform=platform, permanent=str(permanent).lower()).inc()

    def render(self, *, outbox_depth: int) -> bytes:
        self.outbox_depth.set(outbox_depth)
        return generate_latest(self.registry)
