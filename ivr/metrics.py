"""`/metrics`: Prometheus text, correct however many web and worker processes run.

Nothing is kept in process memory. Histograms (webhook latency, recognition time) are
kept in Redis by every process (`workers.metrics_store`); gauges are computed at
scrape time: calls by outcome and callbacks by state from the database, queue depths
and failed jobs from Redis (RQ) and the outbox. No personal data is exposed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from ivr import timings
from ivr.extensions import db_sessions, redis_client
from storage.models import Call, Callback, OutboxJob
from workers import metrics_store
from workers.queues import QUEUES, queue

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
TIMED_BLUEPRINTS = ("voice",)  # the Twilio webhooks


class ScrapeCollector(Collector):
    """Reads every metric from the database and Redis when Prometheus scrapes."""

    def collect(self) -> Iterator:
        yield from self._database()
        try:
            yield from self._redis()
        except RedisError as error:
            log.warning("/metrics: Redis unavailable: %s", error)
            yield GaugeMetricFamily("ivr_redis_up", "Redis answered the scrape.", value=0)

    def _database(self) -> Iterator:
        calls = GaugeMetricFamily("ivr_calls", "Calls by survey outcome.", labels=["outcome"])
        callbacks = GaugeMetricFamily("ivr_callbacks", "Callbacks by state.", labels=["state"])
        outbox = GaugeMetricFamily(
            "ivr_outbox_pending_jobs", "Outbox jobs not yet done (any queue)."
        )
        failing = GaugeMetricFamily(
            "ivr_outbox_failing_jobs", "Outbox jobs not done whose last attempt failed."
        )
        with db_sessions()() as db:
            for outcome, count in db.execute(
                select(Call.disposition, func.count()).group_by(Call.disposition)
            ):
                calls.add_metric([outcome], count)
            for state, count in db.execute(
                select(Callback.state, func.count()).group_by(Callback.state)
            ):
                callbacks.add_metric([state], count)
            pending = select(func.count()).where(OutboxJob.done_at.is_(None))
            outbox.add_metric([], db.scalar(pending) or 0)
            failing.add_metric([], db.scalar(pending.where(OutboxJob.last_error.is_not(None))) or 0)
        yield from (calls, callbacks, outbox, failing)

    def _redis(self) -> Iterator:
        redis = redis_client()
        depth = GaugeMetricFamily("ivr_queue_depth", "Jobs waiting in a queue.", labels=["queue"])
        failed = GaugeMetricFamily(
            "ivr_job_failures", "Failed jobs kept by RQ (7 days).", labels=["queue"]
        )
        for name in QUEUES:
            depth.add_metric([name], queue(name, redis).count)
            failed.add_metric([name], FailedJobRegistry(name, connection=redis).count)
        yield depth
        yield failed
        for name, help_text, unit in (
            ("webhook_seconds", "Time to answer a Twilio webhook.", "ivr_webhook_duration_seconds"),
            ("recognition_seconds", "Time to recognise one recording.", "ivr_recognition_seconds"),
        ):
            series = metrics_store.read(redis, name)
            names = sorted({key for s in series for key in s.labels})
            family = HistogramMetricFamily(unit, help_text, labels=names)
            for s in series:
                values = [s.labels.get(key, "") for key in names]
                family.add_metric(values, s.buckets, s.total)
            yield family
        yield GaugeMetricFamily("ivr_redis_up", "Redis answered the scrape.", value=1)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of the collector's metrics."""
    timings.flush(current_app._get_current_object())  # this process's latest timings
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def time_webhooks(app: Flask) -> None:
    """Time every webhook request into the shared histogram (by endpoint and status):
    counted in memory, written to Redis by a thread (`ivr.timings`)."""

    @app.before_request
    def _start() -> None:
        if request.blueprint in TIMED_BLUEPRINTS:
            g.webhook_started = time.perf_counter()
            timings.start_flusher(app)

    @app.after_request
    def _stop(response: Response) -> Response:
        started = g.pop("webhook_started", None)
        if started is not None:
            seconds = time.perf_counter() - started
            labels = {
                "endpoint": request.endpoint or "unknown",
                "status": str(response.status_code),
            }
            timings.TALLY.observe("webhook_seconds", seconds, **labels)  # no I/O here
        return response
