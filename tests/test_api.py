"""The MAX endpoints (Swagger, metadata, predict) and the JSON error answers through Flask's
test client, around the real model."""
import io

import config
from tests.builders import sample


def upload(*names):
    return {"image": [(io.BytesIO(sample(n)), n) for n in names]}


def test_swagger_spec_comes_from_config(client):
    spec = client.get("/swagger.json").get_json()
    assert spec["swagger"] == "2.0"
    assert spec["info"]["title"] == config.API_TITLE
    assert spec["info"]["version"] == config.API_VERSION
    assert spec["info"]["description"] == config.API_DESCRIPTION
    assert {"/model/metadata", "/model/predict"} <= set(spec["paths"])
    assert {"Prediction", "PredictResponse", "ModelMetadata", "Error"} <= set(spec["definitions"])
    parameters = spec["paths"]["/model/predict"]["post"]["parameters"]
    assert any(p["name"] == "image" and p["type"] == "file" for p in parameters)
    ids = [operation["operationId"] for operations in spec["paths"].values()
           for operation in operations.values() if isinstance(operation, dict)]
    assert len(ids) >= 12 and len(ids) == len(set(ids))  # Swagger 2.0: unique, for code generators


def test_swagger_ui_is_served_at_the_root(client):
    response = client.get("/")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


def test_metadata_has_the_max_schema(client):
    response = client.get("/model/metadata")
    assert response.status_code == 200
    assert set(response.get_json()) == {"id", "name", "description", "type", "source", "license"}


def test_predict_one_file_keeps_the_original_shape(client):
    response = client.post("/model/predict", data=upload("8_photo.jpg"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and set(body) == {"status", "predictions"}
    assert body["predictions"][0]["prediction"] == 8
    assert len(body["predictions"]) == 10
    assert abs(sum(p["probability"] for p in body["predictions"]) - 1) < 1e-4


def test_predict_several_files_answers_each_in_order(client):
    names = ["3_canvas.png", "1_photo.jpg", "6_mnist_style.png"]
    body = client.post("/model/predict", data=upload(*names)).get_json()
    assert [r["filename"] for r in body["results"]] == names
    assert [r["predictions"][0]["prediction"] for r in body["results"]] == [3, 1, 6]


def test_a_bad_file_in_a_batch_fails_only_its_entry(client):
    data = upload("2_photo.jpg")
    data["image"].append((io.BytesIO(b"%PDF-1.4 not an image"), "notes.pdf"))
    body = client.post("/model/predict", data=data).get_json()
    assert body["results"][0]["status"] == "ok"
    assert body["results"][1] == {"filename": "notes.pdf", "status": "error",
                                  "message": body["results"][1]["message"]}
    assert "not an image" in body["results"][1]["message"]


def test_missing_field_is_a_json_400(client):
    response = client.post("/model/predict", data={})
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert "image" in response.get_json()["message"]


def test_wrong_field_name_says_which_field_came(client):
    response = client.post("/model/predict",
                           data={"file": (io.BytesIO(b"123"), "digit.png")})
    assert response.status_code == 400
    assert "file" in response.get_json()["message"]


def test_not_an_image_is_a_json_400(client):
    response = client.post("/model/predict",
                           data={"image": (io.BytesIO(b"hello, world"), "hello.txt")})
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert "not an image" in response.get_json()["message"]


def test_unknown_paths_and_methods_answer_json(client):
    missing = client.get("/no/such/path")
    assert missing.status_code == 404 and missing.get_json()["status"] == "error"
    wrong = client.get("/model/predict")
    assert wrong.status_code == 405 and wrong.get_json()["status"] == "error"
    assert "POST" in wrong.headers["Allow"]


def test_every_response_carries_a_request_id_and_api_headers(client):
    response = client.get("/model/metadata", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    generated = client.get("/model/metadata", headers={"X-Request-ID": "bad id!"})
    assert len(generated.headers["X-Request-ID"]) == 32
