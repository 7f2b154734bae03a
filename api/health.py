"""Liveness and readiness, as the Open Inference Protocol names them, for Kubernetes probes.

Live: the process answers HTTP. Ready: the model is loaded and warmed, so a prediction will
not fail or stall; until then readiness is 503 and a load balancer keeps traffic away.
"""
from flask import current_app
from flask_restx import Namespace, Resource, fields

READY_KEY = "max_mnist.ready"

health_ns = Namespace("health", description="Liveness and readiness probes (Open Inference "
                                            "Protocol, usable as Kubernetes probes)",
                      path="/v2/health")

live_schema = health_ns.model("Live", {"live": fields.Boolean(required=True)})
ready_schema = health_ns.model("Ready", {"ready": fields.Boolean(required=True)})


def mark_ready(app):
    """Called by the factory once the app's model is loaded and warmed."""
    app.extensions[READY_KEY] = True


def model_ready():
    """Whether this process has its model loaded and warmed."""
    return bool(current_app.extensions.get(READY_KEY))


@health_ns.route("/live")
class Live(Resource):
    @health_ns.response(200, "The server process answers", live_schema)
    def get(self):
        """Liveness: 200 whenever the process can answer HTTP."""
        return {"live": True}


@health_ns.route("/ready")
class Ready(Resource):
    @health_ns.response(200, "Ready for inference", ready_schema)
    @health_ns.response(503, "The model is not loaded and warmed yet", ready_schema)
    def get(self):
        """Readiness: 200 once the model is loaded and warmed, 503 before."""
        ready = model_ready()
        return {"ready": ready}, 200 if ready else 503
