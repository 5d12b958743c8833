"""`head.val_search`: how a head whose search is costly decodes the validation set."""

VAL_SEARCHES = ("greedy", "beam")


def check_val_search(value: str) -> None:
    """ValueError unless `value` is one of VAL_SEARCHES."""
    if value not in VAL_SEARCHES:
        raise ValueError(f"head.val_search must be one of {list(VAL_SEARCHES)}, got {value!r}")
