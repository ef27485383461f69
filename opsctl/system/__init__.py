"""What the machine provides: the environment, the cache folder, atomic file writes and
the public holiday library (behind the engine's holiday protocol). Only the edges of the
program (the CLI, the server) use it."""
