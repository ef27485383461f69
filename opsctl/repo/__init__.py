"""Reading an ops repository: YAML with locations, loading into the model, reference
checks, placeholders, the JSON Schemas, files at a git revision and the starter
repository of ``opsctl init``. Knows the model; knows nothing of the engine."""
