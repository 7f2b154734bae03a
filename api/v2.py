"""The Open Inference Protocol (KServe V2) over REST, for the one model this server has: `mnist`.

Tensor clients send digits already prepared as MNIST is: FP32 pixels in [0, 1], white digit on
black, shape [n, 28, 28] (or [n, 28, 28, 1]); they get back the [n, 10] FP32 probabilities, the
[n] INT64 predicted digits (-1 for a picture refused as not a digit) and the [n] FP32
probabilities that each is not a digit. The image pipeline of /model/predict is skipped: the
tensor goes straight to the model stage (`ModelWrapper.read_tensor`). Both JSON tensor data and the
protocol's binary tensor data extension (the `Inference-Header-Content-Length` header, what
tritonclient sends by default) are accepted and answered. Errors are `{"error": "..."}` with a
4xx/5xx status, as the protocol says (api/errors.py picks that shape for every /v2 path).
"""
import json
import math

import numpy as np
from flask import Response, current_app, request
from flask_restx import Namespace, Resource, fields
from werkzeug.exceptions import BadRequest, NotFound, ServiceUnavailable, UnsupportedMediaType

import config
from api.health import model_ready
from api.served_model import current_model
from core.model import DIGITS

MODEL_NAME = "mnist"
MODEL_VERSION = "1"
INPUT_NAME = "images"
# name: datatype. probabilities [n, 10]: each digit's; digit [n]: the most probable digit, or -1
# for a picture refused as not a digit; not_a_digit [n]: the probability that it is no digit.
OUTPUTS = {"probabilities": "FP32", "digit": "INT64", "not_a_digit": "FP32"}
BINARY_HEADER = "Inference-Header-Content-Length"
EXTENSIONS = ["binary_tensor_data"]

v2_ns = Namespace("v2", description="Open Inference Protocol (KServe V2) for the model 'mnist': "
                                    "send prepared 28x28 FP32 tensors, get probabilities",
                  path="/v2")

tensor_schema = v2_ns.model("TensorMetadata", {
    "name": fields.String(required=True), "datatype": fields.String(required=True),
    "shape": fields.List(fields.Integer, required=True)})
server_schema = v2_ns.model("ServerMetadata", {
    "name": fields.String(required=True), "version": fields.String(required=True),
    "extensions": fields.List(fields.String, required=True)})
model_schema = v2_ns.model("ModelMetadataV2", {
    "name": fields.String(required=True), "versions": fields.List(fields.String),
    "platform": fields.String(required=True),
    "inputs": fields.List(fields.Nested(tensor_schema), required=True),
    "outputs": fields.List(fields.Nested(tensor_schema), required=True)})
model_ready_schema = v2_ns.model("ModelReady", {
    "name": fields.String(required=True), "ready": fields.Boolean(required=True)})
request_tensor_schema = v2_ns.model("RequestTensor", {
    "name": fields.String(required=True, example=INPUT_NAME),
    "datatype": fields.String(required=True, example="FP32"),
    "shape": fields.List(fields.Integer, required=True, example=[1, 28, 28]),
    "data": fields.Raw(description="Pixels in [0, 1], row-major, flat or nested (omit it and "
                                   "set parameters.binary_data_size for binary data)")})
infer_request_schema = v2_ns.model("InferenceRequest", {
    "id": fields.String(description="Echoed in the response"),
    "inputs": fields.List(fields.Nested(request_tensor_schema), required=True),
    "outputs": fields.List(fields.Raw, description="Outputs to return (default: all)"),
    "parameters": fields.Raw(description="binary_data_output: true for binary outputs")})
output_tensor_schema = v2_ns.model("ResponseTensor", {
    "name": fields.String(required=True), "datatype": fields.String(required=True),
    "shape": fields.List(fields.Integer, required=True), "data": fields.Raw})
infer_response_schema = v2_ns.model("InferenceResponse", {
    "model_name": fields.String(required=True), "model_version": fields.String,
    "id": fields.String, "outputs": fields.List(fields.Nested(output_tensor_schema))})
protocol_error_schema = v2_ns.model("ProtocolError", {"error": fields.String(required=True)})


def _model_metadata(model):
    """The model's input and output tensors, their shapes as its runtime states them."""
    return {
        "name": MODEL_NAME,
        "versions": [MODEL_VERSION],
        "platform": model.runtime.platform,
        "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, *model.digit_shape]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, DIGITS]},
                    {"name": "digit", "datatype": "INT64", "shape": [-1]},
                    {"name": "not_a_digit", "datatype": "FP32", "shape": [-1]}],
    }


def _check_model(model_name, model_version=None):
    """404 for any model or version this server does not have."""
    if model_name != MODEL_NAME:
        raise NotFound(f"unknown model '{model_name}'; this server serves '{MODEL_NAME}'")
    if model_version not in (None, MODEL_VERSION):
        raise NotFound(f"model '{MODEL_NAME}' has no version '{model_version}'; "
                       f"its version is '{MODEL_VERSION}'")


def _mapping(value, what):
    """A JSON object (a missing one counts as empty), or a 400 naming what was wrong."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return value


def _split_body():
    """The JSON inference header and the binary tensor data that may follow it."""
    if request.content_encoding and request.content_encoding.lower() != "identity":
        raise UnsupportedMediaType(f"Content-Encoding '{request.content_encoding}' is not "
                                   "supported; send the request uncompressed")
    body = request.get_data(cache=False)
    declared = request.headers.get(BINARY_HEADER)
    if declared is None:
        return body, b""
    try:
        length = int(declared)
    except ValueError:
        length = -1
    if not 0 <= length <= len(body):
        raise BadRequest(f"{BINARY_HEADER} must be the JSON header's length in bytes, at most "
                         f"the body's {len(body)}; got '{declared}'")
    return body[:length], body[length:]


def _parse_document(header):
    try:
        document = json.loads(header)
    except (ValueError, RecursionError) as error:  # RecursionError: nesting deeper than Python
        raise BadRequest(f"the inference request is not valid JSON ({error})") from error
    document = _mapping(document, "the inference request")
    if not isinstance(document.get("id", ""), str):  # the protocol's id is a string; a NaN
        raise BadRequest("'id' must be a string")  # echoed back would not even be JSON
    return document


def _input_shape(tensor, limit, digit_shape):
    """The tensor's declared batch size, after checking name, datatype and shape."""
    name = tensor.get("name")
    if name != INPUT_NAME:
        raise BadRequest(f"unknown input '{name}'; the model's input is '{INPUT_NAME}'")
    if tensor.get("datatype") != "FP32":
        raise BadRequest(f"input '{INPUT_NAME}' must have datatype FP32; got "
                         f"{tensor.get('datatype')!r}")
    shape = tensor.get("shape")
    sides = list(digit_shape)
    if not (isinstance(shape, list) and all(type(side) is int for side in shape)
            and shape[1:1 + len(sides)] == sides and shape[1 + len(sides):] in ([], [1])
            and shape[0] >= 1):
        sides = ", ".join(map(str, sides))
        raise BadRequest(f"input '{INPUT_NAME}' must have shape [n, {sides}] or [n, {sides}, 1] "
                         f"with n >= 1; got {shape!r}")
    if shape[0] > limit:
        raise BadRequest(f"{shape[0]} digits sent in one request; at most {limit} fit "
                         "(MAX_TENSOR_BATCH)")
    return shape[0]


def _input_pixels(tensor, binary, size):
    """The tensor's values as a flat float32 array of `size` pixels (JSON or binary)."""
    binary_size = _mapping(tensor.get("parameters"), "the input's parameters").get(
        "binary_data_size")
    if binary_size is not None:
        if "data" in tensor:
            raise BadRequest(f"input '{INPUT_NAME}' has both 'data' and binary_data_size")
        if binary_size != len(binary) or len(binary) != size * 4:
            raise BadRequest(f"input '{INPUT_NAME}' of shape {tensor['shape']} needs "
                             f"{size * 4} bytes of little-endian FP32; binary_data_size says "
                             f"{binary_size} and {len(binary)} bytes follow the JSON header")
        return np.frombuffer(binary, dtype="<f4")
    if binary:
        raise BadRequest(f"{len(binary)} bytes follow the JSON header, but no input declares "
                         "parameters.binary_data_size")
    if "data" not in tensor:
        raise BadRequest(f"input '{INPUT_NAME}' has no 'data' (nor binary_data_size)")
    try:
        values = np.asarray(tensor["data"])
    except ValueError as error:
        raise BadRequest(f"input '{INPUT_NAME}' data is not a regular array ({error})") from error
    if values.dtype.kind not in "fiu":
        raise BadRequest(f"input '{INPUT_NAME}' data must be numbers")
    if values.size != size:
        raise BadRequest(f"input '{INPUT_NAME}' has {values.size} values; its shape "
                         f"{tensor['shape']} needs {size}")
    return values.astype(np.float32).ravel()


def _digits(document, binary, limit, digit_shape):
    """The request's input as an [n, *digit_shape] float32 batch of pixels in [0, 1]."""
    inputs = document.get("inputs")
    if not (isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict)):
        raise BadRequest(f"'inputs' must list exactly one tensor, '{INPUT_NAME}'")
    count = _input_shape(inputs[0], limit, digit_shape)
    pixels = _input_pixels(inputs[0], binary, count * math.prod(digit_shape))
    outside = np.count_nonzero(~((pixels >= 0) & (pixels <= 1)))
    if outside:
        raise BadRequest(f"input '{INPUT_NAME}' must hold pixel values in [0, 1], white digit "
                         f"on black as in MNIST; {outside} values are outside (or NaN)")
    return pixels.reshape(count, *digit_shape)


def _requested_outputs(document):
    """(name, as_binary) for each output to return: those asked for, else all of them."""
    binary_default = _boolean(_mapping(document.get("parameters"), "parameters").get(
        "binary_data_output", False), "binary_data_output")
    asked = document.get("outputs")
    if asked is None:
        return [(name, binary_default) for name in OUTPUTS]
    if not (isinstance(asked, list) and all(isinstance(output, dict) for output in asked)):
        raise BadRequest("'outputs' must be a list of objects with a 'name'")
    requested = []
    for output in asked:
        if not isinstance(output.get("name"), str) or output["name"] not in OUTPUTS:
            raise BadRequest(f"unknown output {output.get('name')!r}; the model's outputs are "
                             f"{', '.join(OUTPUTS)}")
        parameters = _mapping(output.get("parameters"), "an output's parameters")
        if parameters.get("classification"):
            raise BadRequest("the classification extension is not supported; ask for 'digit'")
        requested.append((output["name"], _boolean(parameters.get("binary_data", binary_default),
                                                   "binary_data")))
    return requested


def _boolean(value, what):
    """A JSON true or false ("false", a string, would be true to bool())."""
    if not isinstance(value, bool):
        raise BadRequest(f"{what} must be true or false; got {value!r}")
    return value


def _infer_response(document, requested, tensors):
    """The protocol's inference response, binary outputs appended after the JSON header."""
    body = {"model_name": MODEL_NAME, "model_version": MODEL_VERSION, "outputs": []}
    if "id" in document:
        body["id"] = document["id"]
    blobs = []
    for name, as_binary in requested:
        array = tensors[name]
        entry = {"name": name, "datatype": OUTPUTS[name], "shape": list(array.shape)}
        if as_binary:
            blobs.append(array.astype(array.dtype.newbyteorder("<")).tobytes())
            entry["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            entry["data"] = array.ravel().tolist()
        body["outputs"].append(entry)
    header = json.dumps(body).encode()
    if not blobs:
        return Response(header, content_type="application/json")
    response = Response(header + b"".join(blobs), content_type="application/octet-stream")
    response.headers[BINARY_HEADER] = str(len(header))
    return response


@v2_ns.route("")
class ServerMetadata(Resource):
    @v2_ns.response(200, "Server metadata", server_schema)
    def get(self):
        """Server metadata: name, version and protocol extensions."""
        return {"name": config.API_TITLE.lower(), "version": config.API_VERSION,
                "extensions": EXTENSIONS}


# Each versioned route is a subclass of its unversioned one, not a second URL of the same
# resource: Swagger 2.0 needs one operationId per operation, and flask-restx derives it from the
# resource's name.

@v2_ns.route("/models/<string:model_name>")
@v2_ns.response(404, "Unknown model or version", protocol_error_schema)
class V2ModelMetadata(Resource):
    @v2_ns.response(200, "Model metadata: input and output tensors", model_schema)
    def get(self, model_name, model_version=None):
        """Model metadata: the input and output tensors' names, datatypes and shapes."""
        _check_model(model_name, model_version)
        return _model_metadata(current_model())


@v2_ns.route("/models/<string:model_name>/versions/<string:model_version>")
class V2VersionModelMetadata(V2ModelMetadata):
    pass


@v2_ns.route("/models/<string:model_name>/ready")
@v2_ns.response(404, "Unknown model or version", protocol_error_schema)
class ModelReady(Resource):
    @v2_ns.response(200, "The model is ready", model_ready_schema)
    @v2_ns.response(503, "The model is not loaded and warmed yet", model_ready_schema)
    def get(self, model_name, model_version=None):
        """Model readiness: 200 once loaded and warmed, 503 before."""
        _check_model(model_name, model_version)
        ready = model_ready()
        return {"name": MODEL_NAME, "ready": ready}, 200 if ready else 503


@v2_ns.route("/models/<string:model_name>/versions/<string:model_version>/ready")
class VersionModelReady(ModelReady):
    pass


@v2_ns.route("/models/<string:model_name>/infer")
@v2_ns.response(404, "Unknown model or version", protocol_error_schema)
class Infer(Resource):
    @v2_ns.expect(infer_request_schema)
    @v2_ns.response(200, "Probabilities and digits (JSON, or JSON header + binary data)",
                    infer_response_schema)
    @v2_ns.response(400, "The request breaks the protocol or the model's input metadata",
                    protocol_error_schema)
    @v2_ns.response(413, "Request body over MAX_UPLOAD_BYTES", protocol_error_schema)
    @v2_ns.response(503, "The model is not ready yet", protocol_error_schema)
    def post(self, model_name, model_version=None):
        """Run the model on a batch of prepared digits ([n, 28, 28] FP32 in [0, 1]).

        JSON tensor data, or the binary tensor data extension: the JSON header first, its
        length in the `Inference-Header-Content-Length` header, then the raw little-endian
        FP32 pixels, with `parameters.binary_data_size` on the input.
        """
        _check_model(model_name, model_version)
        if not model_ready():
            raise ServiceUnavailable(f"model '{MODEL_NAME}' is not ready yet")
        header, binary = _split_body()
        document = _parse_document(header)
        model = current_model()
        digits = _digits(document, binary, current_app.config["MAX_TENSOR_BATCH"],
                         model.digit_shape)
        requested = _requested_outputs(document)
        probabilities, digit, not_a_digit = model.read_tensor(digits)
        tensors = {"probabilities": probabilities.astype(np.float32), "digit": digit,
                   "not_a_digit": not_a_digit.astype(np.float32)}
        return _infer_response(document, requested, tensors)


@v2_ns.route("/models/<string:model_name>/versions/<string:model_version>/infer")
class VersionInfer(Infer):
    pass
