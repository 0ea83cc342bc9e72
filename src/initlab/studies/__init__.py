"""Studies: named experiments that compose schemes, stacks, probes and trainers into results."""
