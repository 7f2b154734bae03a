"""The `model` namespace that MAX models expose: GET /model/metadata, what this model is, and
POST /model/predict, one or several image files in, ranked digit probabilities out."""
from flask import current_app
from flask_restx import Namespace, Resource, fields
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from api.served_model import current_model
from api.uploads import request_files

FIELD = "image"
MAX_FILENAME = 255

model_ns = Namespace("model", description="Model information and inference", path="/model")

metadata_schema = model_ns.model("ModelMetadata", {
    "id": fields.String(required=True, description="Model identifier"),
    "name": fields.String(required=True, description="Model name"),
    "description": fields.String(required=True, description="What the model does"),
    "type": fields.String(required=True, description="Kind of model"),
    "source": fields.String(required=True, description="Where the model comes from"),
    "license": fields.String(required=True, description="Model licence"),
})

upload_parser = model_ns.parser()
upload_parser.add_argument(
    FIELD, type=FileStorage, location="files", required=True,
    help="An image of one handwritten digit (PNG, JPEG, GIF, BMP, TIFF, WebP or PPM). To send "
         "a batch, repeat the field (curl: -F image=@a.png -F image=@b.png): each file gets its "
         "own result, in the order sent. This page sends one file: Swagger 2.0 cannot describe "
         "several files in one field.")

prediction_schema = model_ns.model("Prediction", {
    "prediction": fields.Integer(required=True, min=0, max=9, description="A digit"),
    "probability": fields.Float(required=True, min=0, max=1,
                                description="The model's probability for that digit"),
})
batch_entry_schema = model_ns.model("BatchEntry", {
    "filename": fields.String(required=True, description="The uploaded file's name"),
    "status": fields.String(required=True, enum=["ok", "error"]),
    "predictions": fields.List(fields.Nested(prediction_schema),
                               description="All ten digits, most likely first (when ok)"),
    "message": fields.String(description="What is wrong with this file (when error)"),
})
predict_schema = model_ns.model("PredictResponse", {
    "status": fields.String(required=True, enum=["ok"], example="ok"),
    "predictions": fields.List(
        fields.Nested(prediction_schema),
        description="One file sent: all ten digits ranked by probability; the first entry is "
                    "the predicted digit"),
    "results": fields.List(
        fields.Nested(batch_entry_schema),
        description="Several files sent: one entry per file, in the order sent"),
})
error_schema = model_ns.model("Error", {
    "status": fields.String(required=True, enum=["error"], example="error"),
    "message": fields.String(required=True, description="What went wrong and how to fix it"),
    "request_id": fields.String(description="Quote this when reporting a server error"),
})


def _uploads():
    """(filename, content) of each file sent in the `image` field, or a 400 saying what was
    sent instead."""
    sent = request_files()
    files = [(filename, content) for name, filename, content in sent if name == FIELD]
    if not files:
        others = sorted({name for name, _, _ in sent})
        hint = f" (files came in {', '.join(others)})" if others else ""
        raise BadRequest(f"send the image as multipart/form-data in the field '{FIELD}'{hint}")
    limit = current_app.config["MAX_BATCH_FILES"]
    if len(files) > limit:
        raise BadRequest(f"{len(files)} files sent; at most {limit} fit in one request")
    return files


def _entry(name, outcome):
    if isinstance(outcome, Exception):
        return {"filename": name, "status": "error", "message": str(outcome)}
    return {"filename": name, "status": "ok", "predictions": outcome}


@model_ns.route("/metadata")
class ModelMetadata(Resource):
    @model_ns.marshal_with(metadata_schema)
    def get(self):
        """Return the model's metadata."""
        return current_model().MODEL_META_DATA


@model_ns.route("/predict")
class Predict(Resource):
    @model_ns.expect(upload_parser)
    @model_ns.response(200, "Predictions", predict_schema)
    @model_ns.response(400, "Not an image, or no file in the 'image' field", error_schema)
    @model_ns.response(413, "Upload or image too large", error_schema)
    @model_ns.response(422, "No digit found in the image", error_schema)
    def post(self):
        """Predict the handwritten digit in each uploaded image.

        One file: `predictions` ranks all ten digits. Several files: `results` has one entry
        per file; a file that cannot be read fails only its own entry.
        """
        files = _uploads()
        outcomes = current_model().predict([content for _, content in files])
        if len(files) == 1:
            if isinstance(outcomes[0], Exception):
                raise outcomes[0]
            return {"status": "ok", "predictions": outcomes[0]}
        return {"status": "ok", "results": [_entry((filename or "")[:MAX_FILENAME], outcome)
                                            for (filename, _), outcome in zip(files, outcomes)]}
