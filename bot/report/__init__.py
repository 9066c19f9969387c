"""The weekly divergence report: its figures, and the Markdown, HTML and JSON it is shown as."""
