# MAX-MNIST: `make run` sets up serving and serves on $(PORT); `make test` runs the suite.
#
# Two virtualenvs, so each command installs only what it needs and either order works:
#   .venv-serve  requirements-serve.txt only (LiteRT, Flask, gunicorn): `make install/run/dev`
#   .venv        the development tools too (TensorFlow, Keras, h5py, the test tools):
#                `make test/train/evaluate/bench*/lint/soak`
# The models (the digit model as Keras .h5 and as the LiteRT .tflite converted from it when it
# was trained; the LiteRT sequence model that reads joined digits) are fetched from
# $(MODEL_BUCKET) into assets/ and checked against md5sums.txt; nothing is converted on the
# user's machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVE_VENV := .venv-serve
SERVE_BIN := $(SERVE_VENV)/bin
PIP_FLAGS := --quiet --disable-pip-version-check
PORT ?= 5000
MODEL_FILE ?= mnist_cnn.h5
MODEL_BUCKET ?= models
MNIST ?= ../shared/mnist
LITE_FILE := $(MODEL_FILE:.h5=.tflite)
READER_FILE := mnist_reader.tflite
MODELS := assets/$(MODEL_FILE) assets/$(LITE_FILE) assets/$(READER_FILE)
export PORT MODEL_FILE MODEL_BUCKET

.PHONY: install install-dev run dev test train train-reader release-model clean bench attack nginx-deps \
	browser-deps container-deps container-test

# --no-compile: Python compiles what the server imports on first use, not all of every package
# (a third of the install's time).
$(SERVE_BIN)/.installed: requirements-serve.txt
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_BIN)/pip install $(PIP_FLAGS) --no-compile -r requirements-serve.txt
	touch $@

$(BIN)/.installed: requirements.txt requirements-serve.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed requirements-test.txt
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-test.txt
	touch $@

assets/%: md5sums.txt  # any model file md5sums.txt lists, fetched and verified (stdlib only)
	$(PYTHON) scripts/fetch_model.py --bucket $(MODEL_BUCKET) --file $*

install: $(SERVE_BIN)/.installed $(MODELS)  ## the serving venv and the verified model files
	md5sum --check --quiet md5sums.txt  # a model damaged since its fetch fails the install too

run: install nginx-deps  ## serve on $(PORT): nginx in front of gunicorn (serve.py); Ctrl-C drains
	$(SERVE_BIN)/python serve.py

dev: install  ## Flask's development server (debug stays off unless DEBUG=1)
	$(SERVE_BIN)/python app.py

install-dev: install $(BIN)/.test-installed  ## also the development venv: TensorFlow, Keras, the test tools

test: install-dev browser-deps nginx-deps  ## the whole test suite
	$(BIN)/python -m pytest

train: $(BIN)/.installed  ## retrain from the MNIST idx files in $(MNIST): a large teacher, the served small model, then styles, "not a digit" and calibration
	$(BIN)/python -m training.train $(MNIST) --architecture large --out build/teacher1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/teacher1.h5 --epochs 4 \
		--learning-rate 3e-4 --jitter 0 --out build/teacher.h5
	$(BIN)/python -m training.train $(MNIST) --out build/stage1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/stage1.h5 --epochs 6 \
		--learning-rate 5e-4 --jitter 0 --teacher build/teacher.h5 --out build/distilled.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/distilled.h5 --epochs 12 \
		--learning-rate 5e-4 --jitter 0.5 --styles --not-a-digit 40000 --out build/honest.h5
	$(BIN)/python -m training.calibrate $(MNIST) --model build/honest.h5 \
		--out models/$(MODEL_FILE)
	$(MAKE) --no-print-directory release-model

train-reader: $(BIN)/.installed  ## retrain the sequence model that reads joined digits, from numbers of MNIST training digits
	$(BIN)/python -m training.reader $(MNIST) --out build/mnist_reader_stage1.tflite \
		--keras build/mnist_reader_stage1.keras
	$(BIN)/python -m training.reader $(MNIST) --init-from build/mnist_reader_stage1.keras \
		--seed 20261201 --examples 80000 --epochs 4 --learning-rate 3e-4 \
		--out models/$(READER_FILE)
	$(MAKE) --no-print-directory release-model

release-model: $(BIN)/.installed  ## models/*.h5 -> models/*.tflite (checked equal), every model's md5 into md5sums.txt
	$(BIN)/python scripts/convert_model.py models/$(MODEL_FILE) models/$(LITE_FILE)
	cd models && md5sum $(MODEL_FILE) $(LITE_FILE) $(READER_FILE) | sed 's|  |  assets/|' \
		> ../md5sums.txt

clean:
	rm -rf $(VENV) $(SERVE_VENV) assets .pytest_cache

$(BIN)/.evaluate-installed: $(BIN)/.installed requirements-evaluate.txt
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-evaluate.txt
	touch $@

FONT_PACKAGES := fonts-dejavu-core fonts-liberation fonts-freefont-ttf
evaluate-deps: $(BIN)/.evaluate-installed  ## other writers' digits (scikit-learn), Debian's typefaces and Tesseract
	@test -d /usr/share/fonts/truetype/freefont -a -d /usr/share/fonts/truetype/liberation \
		-a -d /usr/share/fonts/truetype/dejavu || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y $(FONT_PACKAGES); }
	@command -v tesseract >/dev/null || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr; }

.PHONY: evaluate evaluate-deps bench-preprocess bench-read
evaluate: $(BIN)/.installed $(MODELS) evaluate-deps  ## accuracy, refusals and ECE per kind; numbers next to Tesseract
	$(BIN)/python -m training.evaluate $(MNIST) --model assets/$(LITE_FILE) \
		--diagram docs/reliability.png
	$(BIN)/python -m training.numbers $(MNIST) --model assets/$(LITE_FILE)

bench-read: $(BIN)/.installed $(MODELS)  ## time reading a 6-digit number, stage by stage, next to a single-digit prediction
	$(BIN)/python -m bench.read $(MNIST) --model assets/$(LITE_FILE)

bench-preprocess: $(BIN)/.installed $(MODELS)  ## pre-processing time next to the model's own inference
	$(BIN)/python -m bench.preprocess --model assets/$(LITE_FILE) --model assets/$(MODEL_FILE)

.PHONY: lint soak
lint: $(BIN)/.test-installed  ## bandit over the code (each exception justified inline), hadolint over the Dockerfile
	$(BIN)/bandit -q -r . -x ./$(VENV),./$(SERVE_VENV),./tests
	$(BIN)/hadolint Dockerfile

SOAK_REQUESTS ?= 20000
SOAK_CONCURRENCY ?= 32
soak: $(BIN)/.test-installed $(MODELS)  ## bounded load run mixing good and bad uploads; prints 5xx, errors and RSS growth
	$(BIN)/python -m bench.soak --requests $(SOAK_REQUESTS) --concurrency $(SOAK_CONCURRENCY)

bench: $(BIN)/.installed $(MODELS) nginx-deps  ## load benchmark: the served stack against the original serving path (3 rounds, about ten minutes)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.serving

attack: $(BIN)/.installed $(MODELS) nginx-deps  ## idle, slow and odd clients and a drain, served as shipped and by gunicorn alone (about five minutes)
	$(BIN)/python -m bench.attack

nginx-deps:  ## Debian's nginx, the front serve.py starts (installed with apt-get when run as root)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends nginx; \
		else echo "nginx is missing: install it (Debian, Ubuntu: sudo apt-get install nginx)," \
			"then run make again" >&2; exit 1; fi; }

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
