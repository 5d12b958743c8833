"""Diagnosing a training setup before (or after) it runs: `asrlab-doctor` and the pre-flight of
`asrlab-train`. Each check returns a `Finding`; `report` writes and logs them."""
