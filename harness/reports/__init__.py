"""Reports people and scripts read: the terminal summary and the JSON results."""
