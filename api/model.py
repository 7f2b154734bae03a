"""The `model` namespace that MAX models expose: GET /model/metadata, what this model is;
POST /model/predict, one or several image files in, ranked digit probabilities out; and
POST /model/read, images of a number (a row of digits) in, the digits read left to right out."""
from flask import current_app
from flask_restx import Namespace, Resource, fields
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from api.served_model import current_model, current_reader
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

read_parser = model_ns.parser()
read_parser.add_argument(
    FIELD, type=FileStorage, location="files", required=True,
    help="An image of one number: a row of handwritten digits (PNG, JPEG, GIF, BMP, TIFF, WebP "
         "or PPM). Repeat the field to send a batch: each file gets its own result, in the "
         "order sent.")

digit_schema = model_ns.model("ReadDigit", {
    "box": fields.List(fields.Integer, required=True, min_items=4, max_items=4,
                       description="[x, y, width, height] of the digit in the uploaded image's "
                                   "pixels (after EXIF orientation)"),
    "prediction": fields.Integer(required=True, min=0, max=9, description="The digit"),
    "probability": fields.Float(required=True, min=0, max=1,
                                description="The model's probability for that digit"),
})
reading_fields = {
    "text": fields.String(description="The digits left to right", example="2026"),
    "probability": fields.Float(min=0, max=1,
                                description="Probability that the whole reading is right: the "
                                            "product of its digits' probabilities"),
    "digits": fields.List(fields.Nested(digit_schema),
                          description="One entry per character of text, left to right"),
}
read_entry_schema = model_ns.model("ReadEntry", {
    "filename": fields.String(required=True, description="The uploaded file's name"),
    "status": fields.String(required=True, enum=["ok", "error"]),
    **reading_fields,
    "message": fields.String(description="What is wrong with this file (when error)"),
})
read_schema = model_ns.model("ReadResponse", {
    "status": fields.String(required=True, enum=["ok"], example="ok"),
    **reading_fields,
    "results": fields.List(fields.Nested(read_entry_schema),
                           description="Several files sent: one entry per file, in the order "
                                       "sent"),
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


def _answer(files, outcomes, fields):
    """One file: its answer's `fields(outcome)`, or its ImageError raised. Several: `results`,
    one entry per file in the order sent, each an answer or that file's error."""
    if len(files) == 1:
        if isinstance(outcomes[0], Exception):
            raise outcomes[0]
        return {"status": "ok", **fields(outcomes[0])}
    results = []
    for (filename, _), outcome in zip(files, outcomes):
        name = (filename or "")[:MAX_FILENAME]
        if isinstance(outcome, Exception):
            results.append({"filename": name, "status": "error", "message": str(outcome)})
        else:
            results.append({"filename": name, "status": "ok", **fields(outcome)})
    return {"status": "ok", "results": results}


def _predictions(ranked):
    """Ranked predictions as the JSON fields of /model/predict's answer."""
    return {"predictions": ranked}


def _reading(reading):
    """A Reading as the JSON fields of /model/read's answer."""
    return {"text": reading.text, "probability": reading.probability,
            "digits": [{"box": list(digit.box), "prediction": digit.prediction,
                        "probability": digit.probability} for digit in reading.digits]}



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
        return _answer(files, outcomes, _predictions)


@model_ns.route("/read")
class Read(Resource):
    @model_ns.expect(read_parser)
    @model_ns.response(200, "The number read", read_schema)
    @model_ns.response(400, "Not an image, or no file in the 'image' field", error_schema)
    @model_ns.response(413, "Upload or image too large", error_schema)
    @model_ns.response(422, "No digit found in the image", error_schema)
    def post(self):
        """Read the handwritten number (a row of digits) in each uploaded image.

        One file: `text` is the digits left to right, `digits` gives each one's box and
        probability, `probability` that of the whole reading. Several files: `results` has one
        entry per file; a file that cannot be read fails only its own entry. Marks that are not
        digits (a dash, a dot, a comma, a frame) are left out; an image with no digit at all is
        a 422.
        """
        files = _uploads()
        outcomes = current_reader().read([content for _, content in files])
        return _answer(files, outcomes, _reading)
