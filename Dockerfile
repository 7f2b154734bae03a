# MAX-MNIST serving image. Build: docker build -t max-mnist .   Run: docker run -p 5000:5000 max-mnist
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG model_bucket=models
ARG model_file=mnist_cnn.h5
# A CA bundle for pip where the index sits behind a TLS proxy (mount it into the build); unset: none.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /workspace
# Two virtualenvs: /opt/build (TensorFlow, to convert the model) stays in this stage; only
# /opt/venv (the serving dependencies, no TensorFlow) goes into the image.
COPY requirements.txt requirements-serve.txt ./
RUN python3 -m venv /opt/venv && python3 -m venv /opt/build \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements-serve.txt \
    && /opt/build/bin/pip install --no-cache-dir -r requirements.txt
COPY md5sums.txt .
COPY scripts/fetch_model.py scripts/
COPY models/ models/
# fetch_model.py writes through mkstemp (mode 0600): make the model readable by the service user.
RUN python3 scripts/fetch_model.py --bucket "${model_bucket}" --file "${model_file}" \
    && md5sum -c md5sums.txt && chmod 0644 "assets/${model_file}"
# The service runs the verified Keras model through LiteRT: convert it here, checked for equality.
COPY scripts/convert_model.py scripts/
COPY core/ core/
RUN /opt/build/bin/python scripts/convert_model.py "assets/${model_file}" \
    "assets/$(basename "${model_file}" .h5).tflite"

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MODEL_PATH=/workspace/assets/mnist_cnn.tflite PORT=5000
RUN useradd --system --uid 10001 --home-dir /workspace --shell /usr/sbin/nologin maxmnist
WORKDIR /workspace
COPY --from=build /opt/venv /opt/venv
COPY --from=build /workspace/assets assets/
COPY config.py app.py gunicorn.conf.py ./
COPY api/ api/
COPY core/ core/
USER 10001
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v2/health/ready' % os.environ.get('PORT', '5000'), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
