//! `--metrics ADDR`: Prometheus metrics of every channel, served on `http://ADDR/metrics`.
//!
//! The exposition format comes from `prometheus-client` (OpenMetrics text, which Prometheus
//! scrapes natively) and the HTTP server from `hyper`; each channel's relay feeds its series
//! through the library's `Observer` hooks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mmap_sync_relay::manifest::unix_millis;
use mmap_sync_relay::status::{Record, Status};
use mmap_sync_relay::{Observer, RefusalReason};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;

/// Labels of a channel's series: its name on the server and its local path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: String,
    pub path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    channel: String,
    path: String,
    reason: String,
}

/// Publish-to-visible buckets, in seconds: from a small value on a quiet network to a large
/// one crossing regions.
const VISIBLE_BUCKETS: [f64; 12] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every series of every channel.
pub struct Metrics {
    registry: Registry,
    source_revision: Family<ChannelLabels, Gauge>,
    published_revision: Family<ChannelLabels, Gauge>,
    behind: Family<ChannelLabels, Gauge>,
    since_publish: Family<ChannelLabels, Gauge<f64, AtomicU64>>,
    downloads: Family<ChannelLabels, Counter>,
    downloaded_bytes: Family<ChannelLabels, Counter>,
    published: Family<ChannelLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    retries: Family<ChannelLabels, Counter>,
    visible: Family<ChannelLabels, Histogram>,
    /// When each channel's current version became visible (ms since the epoch), for the
    /// seconds-since-last-publish gauge, computed at each scrape.
    last_publish_ms: Mutex<HashMap<ChannelLabels, u64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("mmap_sync_relay");
        let metrics = Metrics {
            source_revision: Family::default(),
            published_revision: Family::default(),
            behind: Family::default(),
            since_publish: Family::default(),
            downloads: Family::default(),
            downloaded_bytes: Family::default(),
            published: Family::default(),
            refusals: Family::default(),
            retries: Family::default(),
            visible: Family::new_with_constructor(|| Histogram::new(VISIBLE_BUCKETS)),
            last_publish_ms: Mutex::default(),
            registry: Registry::default(),
        };
        registry.register(
            "source_revision",
            "Newest revision of the channel's manifest seen on the source",
            metrics.source_revision.clone(),
        );
        registry.register(
            "published_revision",
            "Source revision of the version the local channel holds",
            metrics.published_revision.clone(),
        );
        registry.register(
            "revisions_behind",
            "Source revisions not yet published into the local channel",
            metrics.behind.clone(),
        );
        registry.register_with_unit(
            "since_last_publish",
            "Time since the channel's current version became visible locally",
            Unit::Seconds,
            metrics.since_publish.clone(),
        );
        registry.register("downloads", "Archive downloads started", metrics.downloads.clone());
        registry.register_with_unit(
            "downloaded",
            "Bytes received from the source",
            Unit::Bytes,
            metrics.downloaded_bytes.clone(),
        );
        registry.register(
            "published",
            "Versions published into the local channel",
            metrics.published.clone(),
        );
        registry.register(
            "refusals",
            "Versions refused for good, by reason (manifest, type, size, object, digest, archive)",
            metrics.refusals.clone(),
        );
        registry.register(
            "retries",
            "Failed attempts retried after a backoff",
            metrics.retries.clone(),
        );
        registry.register_with_unit(
            "publish_to_visible",
            "From the publisher's upload to the version being visible locally (publisher's clock)",
            Unit::Seconds,
            metrics.visible.clone(),
        );
        Arc::new(Metrics { registry, ..metrics })
    }

    /// The observer that feeds `labels`' series.
    pub fn channel(self: &Arc<Self>, labels: ChannelLabels) -> Arc<dyn Observer> {
        Arc::new(ChannelMetrics { metrics: self.clone(), labels })
    }

    /// Removes a channel's series (it is no longer followed).
    pub fn forget(&self, labels: &ChannelLabels) {
        self.source_revision.remove(labels);
        self.published_revision.remove(labels);
        self.behind.remove(labels);
        self.since_publish.remove(labels);
        self.downloads.remove(labels);
        self.downloaded_bytes.remove(labels);
        self.published.remove(labels);
        self.retries.remove(labels);
        self.visible.remove(labels);
        for reason in RefusalReason::ALL {
            self.refusals.remove(&refusal_labels(labels, reason));
        }
        if let Ok(mut last) = self.last_publish_ms.lock() {
            last.remove(labels);
        }
    }

    /// The metrics in OpenMetrics text.
    pub fn encode(&self) -> String {
        let now = unix_millis();
        if let Ok(last) = self.last_publish_ms.lock() {
            for (labels, at_ms) in last.iter() {
                let seconds = now.saturating_sub(*at_ms) as f64 / 1000.0;
                self.since_publish.get_or_create(labels).set(seconds);
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    fn respond(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let (status, content_type, body) = match (request.method(), request.uri().path()) {
            (&Method::GET, "/metrics") => (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.encode(),
            ),
            _ => (StatusCode::NOT_FOUND, "text/plain", "not found: try GET /metrics\n".into()),
        };
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a response of constant parts always builds")
    }
}

fn refusal_labels(labels: &ChannelLabels, reason: RefusalReason) -> RefusalLabels {
    RefusalLabels {
        channel: labels.channel.clone(),
        path: labels.path.clone(),
        reason: reason.as_str().to_owned(),
    }
}

/// Binds `addr` for the metrics endpoint.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|err| format!("--metrics {addr}: {err}"))
}

/// Serves `GET /metrics` on `listener` for ever.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors, typically: wait rather than spin.
                tracing::warn!("metrics endpoint: accepting a connection: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = metrics.respond(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(err) =
                http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
            {
                tracing::debug!("metrics endpoint: {err}");
            }
        });
    }
}

struct ChannelMetrics {
    metrics: Arc<Metrics>,
    labels: ChannelLabels,
}

impl Observer for ChannelMetrics {
    fn status(&self, status: &Status) {
        let m = &self.metrics;
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        if let Some(revision) = status.source_revision {
            m.source_revision.get_or_create(&self.labels).set(gauge(revision));
        }
        if let Some(published) = &status.published {
            m.published_revision.get_or_create(&self.labels).set(gauge(published.revision));
            if let (Some(at_ms), Ok(mut last)) = (published.visible_at_ms, m.last_publish_ms.lock())
            {
                last.insert(self.labels.clone(), at_ms);
            }
        }
        m.behind.get_or_create(&self.labels).set(gauge(status.behind));
        // Counters appear at zero from the start, so a rate is defined before the first event.
        let _ = m.downloads.get_or_create(&self.labels);
        let _ = m.downloaded_bytes.get_or_create(&self.labels);
        let _ = m.published.get_or_create(&self.labels);
        let _ = m.retries.get_or_create(&self.labels);
    }

    fn downloading(&self, _bytes: u64) {
        self.metrics.downloads.get_or_create(&self.labels).inc();
    }

    fn downloaded(&self, bytes: u64) {
        self.metrics.downloaded_bytes.get_or_create(&self.labels).inc_by(bytes);
    }

    fn published(&self, _record: &Record, publish_to_visible: Duration) {
        self.metrics.published.get_or_create(&self.labels).inc();
        self.metrics.visible.get_or_create(&self.labels).observe(publish_to_visible.as_secs_f64());
    }

    fn refused(&self, reason: RefusalReason) {
        self.metrics.refusals.get_or_create(&refusal_labels(&self.labels, reason)).inc();
    }

    fn retried(&self) {
        self.metrics.retries.get_or_create(&self.labels).inc();
    }
}
