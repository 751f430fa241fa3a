# `make test` on two workers (pytest-xdist): the release loop's rehearsal beside the rest of the
# suite, each group on one worker (tests/conftest.py). The rehearsal mostly waits on act's jobs and
# the local cloud, so on two cores the suite takes about as long as its longer half. Other pytest
# options still come through PYTEST_ADDOPTS.
test: export PYTEST_ADDOPTS += -n 2
