# Benchmarks (bench/): the data path at real sizes, and every benchmark's small mode.
# bench-serve and bench-cost are in mk/serve.mk and mk/frontdoor.mk.

.PHONY: bench-scale bench-small

bench-scale: $(INSTALLED) ## Data steps and PR checks at 10k, 100k, 1M rows: time, memory, recall (build/bench/scale.json)
	$(BIN)/python bench/scale.py --out build/bench/scale.json

bench-small: $(INSTALLED) ## Every bench/ script in its small mode, as the tests run them (seconds each, no timings judged)
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/bench
