"""The headers every answer carries: security headers, content policies, and CORS."""
import io

import config
from app import create_app
from harness.images import encode
from tests.builders import digit_image
from tests.helpers import PREDICT, post_files


def test_api_responses_carry_protective_headers(service):
    for response in (service.get("/model/metadata"), service.get("/nope"),
                     post_files(service, ("x.txt", b"text"))):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["Cache-Control"] == "no-store"
        assert "Access-Control-Allow-Origin" not in response.headers


def test_the_swagger_ui_page_and_its_assets_still_load(service):
    page = service.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy and "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    assets = [part.split('"')[0] for part in html.split('src="')[1:] + html.split('href="')[1:]]
    local = [url for url in assets if url.startswith("/")]
    assert any(url.endswith(".js") for url in local)
    assert not [url for url in assets if url.startswith("http")]  # all same-origin, as CSP needs
    for url in local:
        assert service.get(url).status_code == 200, url
    assert service.get("/swagger.json").status_code == 200


def cors_client(wrapper, **settings):
    return create_app(settings, model=wrapper).test_client()


def test_cors_is_off_by_default(service):
    response = service.get("/model/metadata", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = service.options(PREDICT, headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_enabled_without_origins_allows_any(wrapper):
    client = cors_client(wrapper, CORS_ENABLE=True)
    response = client.get("/model/metadata", headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
    assert "Inference-Header-Content-Length" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/model/metadata").headers


def test_cors_origins_restricts_and_answers_preflight(wrapper):
    client = cors_client(wrapper, CORS_ENABLE=True,
                         CORS_ORIGINS=config.SETTINGS["CORS_ORIGINS"][1](
                             "https://a.example, https://b.example"))
    preflight = client.options(PREDICT, headers={"Origin": "https://b.example",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "x-request-id"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-Request-ID" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Inference-Header-Content-Length" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]
    data = {"image": (io.BytesIO(encode(digit_image())), "7.png")}
    allowed = client.post(PREDICT, data=data, headers={"Origin": "https://a.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://a.example"
    other = client.get("/model/metadata", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]
    refused = client.options(PREDICT, headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Methods" not in refused.headers
