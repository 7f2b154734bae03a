"""GET /metrics in Prometheus text format, and the per-request HTTP instrumentation.

Under gunicorn (several worker processes) prometheus_client runs in multiprocess mode: each
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR, which gunicorn.conf.py makes
fresh at every server start, and a scrape, whichever worker answers it, adds up all the files
(those of dead workers too, so totals never go backwards). Without that variable (`python
app.py`, tests) the values live in this process's default registry.
"""
import os
import re
import time

from flask import Response, current_app, g, request
from flask_restx import Namespace, Resource
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from werkzeug.exceptions import MethodNotAllowed

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the endpoint label of requests to unknown paths, to bound cardinality
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"  # the method label of any other method a client makes up
CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # "<string:model_name>" -> "<model_name>"

REQUESTS = Counter("maxmnist_http_requests", "HTTP requests answered, by endpoint and status",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("maxmnist_http_request_duration_seconds",
                    "Time from request to response, by endpoint, in seconds",
                    ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

metrics_ns = Namespace("metrics", description="Prometheus metrics of all worker processes",
                       path="/metrics")


def registry():
    """The registry to expose: all workers' files in multiprocess mode, else this process's."""
    if MULTIPROC_ENV not in os.environ:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


@metrics_ns.route("")
class Metrics(Resource):
    @metrics_ns.produces([CONTENT_TYPE_PLAIN_0_0_4])
    def get(self):
        """Requests by endpoint and status, latency, predictions by digit, inference time.

        Prometheus text format 0.0.4, or OpenMetrics when the Accept header asks for it.
        """
        try:
            encode, content_type = choose_encoder(request.headers.get("Accept"))
        except (TypeError, ValueError):  # prometheus_client cannot read this Accept's version
            encode, content_type = choose_encoder(None)
        return Response(encode(registry()), content_type=content_type,
                        headers={"Cache-Control": "no-store"})  # a scrape is always fresh


def _endpoint_label():
    """The request's route pattern; for a method its route does not allow (405), the route it
    would have matched; UNMATCHED for unknown paths."""
    rule = request.url_rule
    refused = request.routing_exception
    if rule is None and isinstance(refused, MethodNotAllowed) and refused.valid_methods:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        rule, _ = adapter.match(method=refused.valid_methods[0], return_rule=True)
    return CONVERTER.sub(r"<\1>", rule.rule) if rule else UNMATCHED


def instrument(app):
    """Count every request and time it, labelled by its route pattern (not the raw path)."""

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("metrics_started", None)
        endpoint = _endpoint_label()
        method = request.method if request.method in METHODS else OTHER_METHOD
        REQUESTS.labels(method, endpoint, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(method, endpoint).observe(time.perf_counter() - started)
        return response
