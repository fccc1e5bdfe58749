"""`/metrics`: Prometheus text with webhook latency, calls by outcome, queue depths,
job failures and recognition time, shared by every process through Redis."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue

from workers.metrics_store import observe


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_webhooks_and_calls_are_counted(client, place_call, redis_url):
    place_call("1")
    place_call("4")
    place_call("silence,silence,silence")
    samples = scrape(client)
    outcomes = {dict(k[1])["outcome"]: v for k, v in samples.items() if k[0] == "ivr_calls"}
    assert outcomes == {"rated": 2, "no_input": 1}
    assert samples[("ivr_callbacks", (("state", "open"),))] == 1
    survey = (("endpoint", "voice.survey"), ("status", "200"))
    assert samples[("ivr_webhook_duration_seconds_count", survey)] == 3
    inf = (("endpoint", "voice.survey"), ("le", "+Inf"), ("status", "200"))
    assert samples[("ivr_webhook_duration_seconds_bucket", inf)] == 3
    assert samples[("ivr_redis_up", ())] == 1


def test_queue_depths_and_failures_come_from_redis(client, redis_url):
    redis = Redis.from_url(redis_url)
    Queue("transcribe", connection=redis).enqueue("workers.jobs.nothing_here", 1)
    samples = scrape(client)
    assert samples[("ivr_queue_depth", (("queue", "transcribe"),))] == 1
    assert samples[("ivr_queue_depth", (("queue", "speech"),))] == 0
    assert samples[("ivr_job_failures", (("queue", "default"),))] == 0


def test_recognition_time_from_another_process_is_seen(client, redis_url, project_root):
    observe(Redis.from_url(redis_url), "recognition_seconds", 0.3, lang="ko-KR", purpose="rating")
    code = (
        "from redis import Redis; from workers.metrics_store import observe; "
        f"observe(Redis.from_url({redis_url!r}), 'recognition_seconds', 12.0, "
        "lang='ko-KR', purpose='rating')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=project_root)
    samples = scrape(client)
    labels = (("lang", "ko-KR"), ("purpose", "rating"))
    assert samples[("ivr_recognition_seconds_count", labels)] == 2
    assert samples[("ivr_recognition_seconds_sum", labels)] == 12.3
    half = (("lang", "ko-KR"), ("le", "0.5"), ("purpose", "rating"))
    assert samples[("ivr_recognition_seconds_bucket", half)] == 1
