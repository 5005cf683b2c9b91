"""Reports: terminal (rich) and JSON results; HTML and Markdown come later."""
