"""The dashboard: Jinja2 pages with HTMX and Plotly (served from the installed package),
in English, Simplified Chinese and Persian; and the self-contained HTML report."""
