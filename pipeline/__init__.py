"""Sales pipeline: pipelines, stages, deals, the board and the forecast."""
