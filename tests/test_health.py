"""Liveness and readiness probes: what Kubernetes asks before sending traffic."""
import requests

from api.health import READY_KEY


def test_live_and_ready_once_the_model_is_loaded(client):
    assert client.get("/v2/health/live").get_json() == {"live": True}
    response = client.get("/v2/health/ready")
    assert response.status_code == 200 and response.get_json() == {"ready": True}
    assert client.get("/v2/models/mnist/ready").get_json() == {"name": "mnist", "ready": True}


def test_not_ready_is_503_while_live_stays_200(app, client):
    app.extensions[READY_KEY] = False  # as an app is before its model is loaded and warmed
    assert client.get("/v2/health/live").status_code == 200
    response = client.get("/v2/health/ready")
    assert response.status_code == 503 and response.get_json() == {"ready": False}
    response = client.get("/v2/models/mnist/ready")
    assert response.status_code == 503 and response.get_json()["ready"] is False
    response = client.post("/v2/models/mnist/infer", json={})
    assert response.status_code == 503 and "not ready" in response.get_json()["error"]


def test_the_probes_answer_on_the_real_server(server):
    for path, body in [("/v2/health/live", {"live": True}), ("/v2/health/ready", {"ready": True})]:
        response = requests.get(server.url + path, timeout=5)
        assert response.status_code == 200 and response.json() == body
        assert response.headers["Content-Type"] == "application/json"
