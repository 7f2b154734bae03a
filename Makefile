# MAX-MNIST: `make run` sets everything up and serves on $(PORT); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
MODEL_FILE ?= mnist_cnn.h5
MODEL_BUCKET ?= models
MNIST ?= ../shared/mnist
export PORT MODEL_FILE MODEL_BUCKET

.PHONY: install run dev test train clean browser-deps container-deps container-test

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed requirements-test.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

assets/$(MODEL_FILE): md5sums.txt
	$(BIN)/python scripts/fetch_model.py --bucket $(MODEL_BUCKET) --file $(MODEL_FILE)

install: $(BIN)/.installed assets/$(MODEL_FILE)  ## venv, dependencies and the verified model

run: install  ## serve with gunicorn on $(PORT)
	$(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

dev: install  ## Flask's development server (debug stays off unless DEBUG=1)
	$(BIN)/python app.py

test: install $(BIN)/.test-installed browser-deps  ## the whole test suite
	$(BIN)/python -m pytest

train: $(BIN)/.installed  ## retrain the model from the MNIST idx files in $(MNIST) (two stages)
	$(BIN)/python -m training.train $(MNIST) --out build/stage1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/stage1.h5 --epochs 4 \
		--learning-rate 3e-4 --jitter 0 --out models/$(MODEL_FILE)
	echo "$$(md5sum < models/$(MODEL_FILE) | cut -d' ' -f1)  assets/$(MODEL_FILE)" > md5sums.txt

clean:
	rm -rf $(VENV) assets .pytest_cache

browser-deps:  ## Debian's Chromium for the browser tests (Playwright drives it; no browser download)
	@test -x /usr/bin/chromium || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }

container-deps:  ## podman and friends, unless a Docker engine is running
	@if ! docker info >/dev/null 2>&1 && \
		! { command -v podman && command -v runc && command -v debootstrap; } >/dev/null; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y podman buildah runc debootstrap; fi

container-test: container-deps  ## build the Dockerfile, run the image, check it over HTTP, report its size
	scripts/container_test.sh
