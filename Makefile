# MAX-MNIST: `make run` sets everything up and serves on $(PORT); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
MODEL_FILE ?= mnist_cnn.h5
MODEL_BUCKET ?= models
MNIST ?= ../shared/mnist
LITE_FILE := $(MODEL_FILE:.h5=.tflite)
export PORT MODEL_FILE MODEL_BUCKET

.PHONY: install run dev test train clean bench browser-deps container-deps container-test

$(BIN)/.installed: requirements.txt requirements-serve.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed requirements-test.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

assets/$(MODEL_FILE): md5sums.txt
	$(BIN)/python scripts/fetch_model.py --bucket $(MODEL_BUCKET) --file $(MODEL_FILE)

assets/$(LITE_FILE): assets/$(MODEL_FILE) scripts/convert_model.py
	$(BIN)/python scripts/convert_model.py assets/$(MODEL_FILE) assets/$(LITE_FILE)

install: $(BIN)/.installed assets/$(MODEL_FILE) assets/$(LITE_FILE)  ## venv, deps, verified model, LiteRT copy
	md5sum --check --quiet md5sums.txt  # a model damaged since its fetch fails the install too

run: install  ## serve with gunicorn on $(PORT)
	$(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

dev: install  ## Flask's development server (debug stays off unless DEBUG=1)
	$(BIN)/python app.py

test: install $(BIN)/.test-installed browser-deps  ## the whole test suite
	$(BIN)/python -m pytest

train: $(BIN)/.installed  ## retrain from the MNIST idx files in $(MNIST): a large teacher, then the served small model
	$(BIN)/python -m training.train $(MNIST) --architecture large --out build/teacher1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/teacher1.h5 --epochs 4 \
		--learning-rate 3e-4 --jitter 0 --out build/teacher.h5
	$(BIN)/python -m training.train $(MNIST) --out build/stage1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/stage1.h5 --epochs 6 \
		--learning-rate 5e-4 --jitter 0 --teacher build/teacher.h5 --out models/$(MODEL_FILE)
	echo "$$(md5sum < models/$(MODEL_FILE) | cut -d' ' -f1)  assets/$(MODEL_FILE)" > md5sums.txt

clean:
	rm -rf $(VENV) assets .pytest_cache

.PHONY: evaluate bench-preprocess
evaluate: install  ## accuracy through the serving path: raw MNIST and user-style uploads
	$(BIN)/python -m training.evaluate $(MNIST) --model assets/$(LITE_FILE)

bench-preprocess: install  ## pre-processing time next to the model's own inference
	$(BIN)/python -m bench.preprocess --model assets/$(LITE_FILE) --model assets/$(MODEL_FILE)

.PHONY: lint soak
lint: $(BIN)/.test-installed  ## bandit over the code (each exception justified inline), hadolint over the Dockerfile
	$(BIN)/bandit -q -r . -x ./$(VENV),./tests
	$(BIN)/hadolint Dockerfile

SOAK_REQUESTS ?= 20000
SOAK_CONCURRENCY ?= 32
soak: install $(BIN)/.test-installed  ## bounded load run mixing good and bad uploads; prints 5xx, errors and RSS growth
	$(BIN)/python -m bench.soak --requests $(SOAK_REQUESTS) --concurrency $(SOAK_CONCURRENCY)

bench: install  ## load benchmark: this server against the original serving path (3 rounds, about ten minutes)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.serving

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
