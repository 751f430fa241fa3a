# `make test` on two workers (pytest-xdist): the release loop's rehearsal on one, the other test
# folders, longest first, on whichever worker is free (tests/conftest.py). Other pytest options
# still come through PYTEST_ADDOPTS.
test: export PYTEST_ADDOPTS += -n 2
# Two workers on two cores: each PyTorch and ONNX Runtime process keeps to one thread. With the
# default (one per core) two training processes side by side oversubscribe the cores and spin in
# OpenMP's waits; `python bench/threads.py` measures the two settings side by side.
test: export OMP_NUM_THREADS ?= 1
