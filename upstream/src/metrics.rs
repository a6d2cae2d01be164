//! Prometheus metrics, one registry per service instance (so tests can run several in one
//! process): requests by route and status, latency by route, and the feed head. Every label
//! comes from a closed set (route templates, the methods HTTP defines, status classes), so no
//! client can grow the exposition.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub feed_head: IntGauge,
    pub in_flight: IntGauge,
    /// Requests and connections turned away or cut off to protect everyone else, by reason
    /// (a closed set: [`REFUSALS`]).
    pub refused: IntCounterVec,
    pub connections: IntGauge,
}

/// Why the service turned a client away or cut it off: the `reason` label of
/// `liner_refused_total`.
pub const REFUSALS: &[&str] = &[
    "snapshot_busy",
    "snapshot_slow",
    "connections_full",
    "header_timeout",
    "idle",
    "stalled",
    "rate_limited",
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "liner_http_requests_total",
                "HTTP requests by route template, method and status (documented codes; any other by class)",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "liner_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ]),
            &["route", "method"],
        )?;
        let feed_head = IntGauge::new(
            "liner_feed_head_position",
            "Position of the newest change in the feed",
        )?;
        let in_flight = IntGauge::new(
            "liner_http_requests_in_flight",
            "Requests being served now, long-polls included",
        )?;
        let refused = IntCounterVec::new(
            Opts::new(
                "liner_refused_total",
                "Requests or connections turned away or cut off to protect other clients, by reason",
            ),
            &["reason"],
        )?;
        // Every reason from the start, so a dashboard sees zeros rather than no series.
        for reason in REFUSALS {
            refused.with_label_values(&[reason]);
        }
        let connections =
            IntGauge::new("liner_http_connections_open", "Client connections open now")?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(feed_head.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            feed_head,
            in_flight,
            refused,
            connections,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
