"""The HTTP layer: resource namespaces, the drawing page, and the request handling around them
(errors, headers, request ids, the guarded request body). `app.create_app` assembles it."""
