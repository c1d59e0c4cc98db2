"""Pre-trade risk gate as a hardware database (issue 4): tables in on-chip memory, a pipelined check datapath."""
