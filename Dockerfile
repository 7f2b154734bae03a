# MAX-MNIST serving image. Build: docker build -t max-mnist .   Run: docker run -p 5000:5000 max-mnist
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG model_bucket=models
# A CA bundle for pip where the index sits behind a TLS proxy (mount it into the build); unset: none.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /workspace
# One virtualenv with the serving dependencies only (no TensorFlow, Keras or h5py). Then what
# serving never loads leaves it: pip and setuptools (nothing installs into the image later),
# LiteRT's GPU accelerator, NPU plugins and tools (the service runs on the CPU), source maps and
# numpy's tests.
COPY requirements-serve.txt ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements-serve.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
    && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && rm -rf "$site"/ai_edge_litert/libLiteRtWebGpuAccelerator.so "$site"/ai_edge_litert/tools \
        "$site"/ai_edge_litert/vendors "$site"/numpy/*/tests \
    && find "$site" -name '*.map' -delete
# The model files md5sums.txt lists (the digit model as Keras .h5 and as the LiteRT .tflite
# converted from it when it was trained; the LiteRT sequence model), checked; fetch_model.py writes through mkstemp (mode 0600): make them
# readable by the service user.
COPY md5sums.txt .
COPY scripts/fetch_model.py scripts/
COPY models/ models/
RUN python3 scripts/fetch_model.py --bucket "${model_bucket}" \
    && md5sum -c md5sums.txt && chmod 0644 assets/*

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MODEL_PATH=/workspace/assets/mnist_cnn.tflite \
    READER_PATH=/workspace/assets/mnist_reader.tflite PORT=5000
# nginx fronts gunicorn (serve.py). policy-rc.d keeps the package from starting its own nginx
# during the build; Debian's nginx follows the base image's release, so it is not pinned. apt's
# lists and caches go in the same layer (on a base without Docker's apt clean-up they are 80 MB).
# hadolint ignore=DL3008
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && apt-get update && apt-get install -y --no-install-recommends nginx \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/sbin/policy-rc.d \
    && useradd --system --uid 10001 --home-dir /workspace --shell /usr/sbin/nologin maxmnist
WORKDIR /workspace
COPY --from=build /opt/venv /opt/venv
COPY --from=build /workspace/assets/mnist_cnn.tflite /workspace/assets/mnist_reader.tflite assets/
COPY config.py app.py gunicorn.conf.py serve.py nginx.conf.template ./
COPY api/ api/
COPY core/ core/
USER 10001
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v2/health/ready' % os.environ.get('PORT', '5000'), timeout=4)"]
# serve.py runs nginx and gunicorn in the foreground; SIGTERM drains them (up to WORKER_TIMEOUT,
# 30 s: `docker stop -t 40`)
CMD ["python3", "serve.py"]
