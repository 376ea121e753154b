"""Server-rendered pages for officers: Jinja2 templates made interactive with htmx."""
