"""Reading landing files: discovery, physical lines, and the three input formats."""
