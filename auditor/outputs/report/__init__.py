"""The compliance report: the report context, SVG charts, HTML and PDF rendering."""
