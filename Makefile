# hallwatch: two commands on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := mosquitto mosquitto-clients ffmpeg socat chromium chromium-driver fonts-wqy-microhei rtsp-server-perl gammu libgammu-dev pkg-config python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly postgresql
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint setup system-packages clean

demo: setup
	$(VENV)/bin/hall demo

test: setup
	$(PY) -m pytest -n 2 --dist loadgroup -q

bench: setup
	$(PY) -m bench

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy contract spine hallwatch edge gateway central provisioning

setup: system-packages $(STAMP)

# Installs the Debian packages only when one is missing, so a second run is instant.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian starts a system Mosquitto on 1883; hallwatch runs its own brokers, so leave it alone but never depend on it.
	@# postgresql: the tests start a throwaway cluster of their own (tests/pgcluster.py); the system one on 5432 is left alone.

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
