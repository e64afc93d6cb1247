"""Reports people look at: Plotly figures, self-contained HTML pages, metrics.txt, PNG export."""
