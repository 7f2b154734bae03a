"""GET /model/metadata: what this model is, in the MAX metadata schema."""
from flask_restx import Resource, fields

from api.namespace import current_model, model_ns

metadata_schema = model_ns.model("ModelMetadata", {
    "id": fields.String(required=True, description="Model identifier"),
    "name": fields.String(required=True, description="Model name"),
    "description": fields.String(required=True, description="What the model does"),
    "type": fields.String(required=True, description="Kind of model"),
    "source": fields.String(required=True, description="Where the model comes from"),
    "license": fields.String(required=True, description="Model licence"),
})


@model_ns.route("/metadata")
class ModelMetadata(Resource):
    @model_ns.marshal_with(metadata_schema)
    def get(self):
        """Return the model's metadata."""
        return current_model().MODEL_META_DATA
