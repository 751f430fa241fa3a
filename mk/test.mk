# `make test` on pytest-xdist workers, one more than the machine has cores (tests/conftest.py says
# why): the release loop's rehearsal on one, the other test folders, longest first, on whichever
# worker is free (tests/conftest.py). Other pytest options still come through PYTEST_ADDOPTS.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: export PYTEST_ADDOPTS += -n $(TEST_WORKERS)
# Each PyTorch and ONNX Runtime process keeps to one thread. With the default (one per core) two
# training processes side by side oversubscribe the cores and spin in OpenMP's waits;
# `python bench/threads.py` measures the two settings side by side.
test: export OMP_NUM_THREADS ?= 1
