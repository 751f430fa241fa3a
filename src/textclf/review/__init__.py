"""What a pull-request reviewer reads: the gate, the champion (production's metrics) and the report."""
