# MAX-MNIST: `make run` sets everything up and serves on $(PORT); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
MODEL_FILE ?= mnist_cnn.h5
MODEL_BUCKET ?= models
MNIST ?= ../shared/mnist
export PORT MODEL_FILE MODEL_BUCKET

.PHONY: install run dev test train clean

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

test: install $(BIN)/.test-installed  ## the whole test suite
	$(BIN)/python -m pytest

train: $(BIN)/.installed  ## retrain the model from the MNIST idx files in $(MNIST) (two stages)
	$(BIN)/python -m training.train $(MNIST) --out build/stage1.h5
	$(BIN)/python -m training.train $(MNIST) --init-from build/stage1.h5 --epochs 4 \
		--learning-rate 3e-4 --jitter 0 --out models/$(MODEL_FILE)
	echo "$$(md5sum < models/$(MODEL_FILE) | cut -d' ' -f1)  assets/$(MODEL_FILE)" > md5sums.txt

clean:
	rm -rf $(VENV) assets .pytest_cache
