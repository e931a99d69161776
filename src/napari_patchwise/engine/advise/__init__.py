"""The advisor: measure an image before the first box and say how to plan its annotation."""
