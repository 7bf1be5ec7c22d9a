"""The throughput benchmark: the real job against the fake upstream with enforced limits."""
