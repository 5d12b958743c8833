"""asrlab-eval's work: a checkpoint's log-probs on a split, decoded by each decoder, scored per
utterance, written as metrics.json, confusions.json, utterances/<decoder>.jsonl and report.md."""
